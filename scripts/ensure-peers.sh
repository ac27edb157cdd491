#!/usr/bin/env bash
# Install the local peers the tests talk to when they are missing. As root this uses
# Debian's packages; otherwise it says what to install. Under CI=true a peer that cannot
# be installed is a failure, never a silent skip.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# Dovecot 2.3 (IMAP, LMTP, submission) is the IMAP peer of the mail tests. Debian puts the
# binary in /usr/sbin, which is not on every user's PATH, so look for it there too.
if ! command -v dovecot >/dev/null 2>&1 && ! command -v /usr/sbin/dovecot >/dev/null 2>&1; then
    missing+=(dovecot-imapd dovecot-lmtpd dovecot-submissiond)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing test peers: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    exit 0
fi

echo "The tests need these Debian packages: ${missing[*]}" >&2
echo "Install them with: sudo apt-get install ${missing[*]}" >&2
if [ "${CI:-}" = "true" ]; then
    exit 1
fi
echo "Continuing: tests that need them will be skipped (CI fails instead)." >&2
