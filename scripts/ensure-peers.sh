#!/usr/bin/env bash
# Install the local peers the tests talk to when they are missing. As root this uses
# Debian's packages; otherwise it says what to install. Under CI=true a peer that cannot
# be installed is a failure, never a silent skip.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# Dovecot 2.3 (IMAP, LMTP, submission) is the IMAP peer of the mail tests. Debian puts the
# binary in /usr/sbin, which is not on every user's PATH, so look for it there too.
if ! command -v dovecot >/dev/null 2>&1 && ! command -v /usr/sbin/dovecot >/dev/null 2>&1; then
    missing+=(dovecot-imapd dovecot-lmtpd dovecot-submissiond)
fi
# Node.js runs the Gmail API / Microsoft Graph emulator (installed below with npm).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing test peers: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "The tests need these Debian packages: ${missing[*]}" >&2
        echo "Install them with: sudo apt-get install ${missing[*]}" >&2
        if [ "${CI:-}" = "true" ]; then
            exit 1
        fi
        echo "Continuing: tests that need them will be skipped (CI fails instead)." >&2
    fi
fi

# The emulator (@inbox-zero/emulate, version pinned in tests/peers/package-lock.json) goes
# into tests/peers/node_modules. `npm ci` installs exactly the lock file, and again when
# the lock file is newer than what was installed.
peers=tests/peers
installed="$peers/node_modules/.package-lock.json"
if [ ! -e "$installed" ] || [ "$peers/package-lock.json" -nt "$installed" ]; then
    if command -v npm >/dev/null 2>&1; then
        echo "Installing the API emulator into $peers/node_modules"
        npm ci --prefix "$peers" --no-audit --no-fund --loglevel=error
    elif [ "${CI:-}" = "true" ]; then
        echo "CI=true and npm is missing: cannot install the API emulator." >&2
        exit 1
    else
        echo "npm is missing: the Gmail/Graph tests will be skipped. Install Node.js and npm" >&2
        echo "(sudo apt-get install nodejs npm), then run this script again." >&2
    fi
fi
