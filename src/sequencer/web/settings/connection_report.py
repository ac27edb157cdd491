"""A connection test's report as the steps a person recognises: connect, TLS, login,
send, then IMAP, each passed, failed, not tried or not used.

The provider's checks say where a failure stopped (:class:`~sequencer.mail.providers.base.Check`
``step``); the steps before it passed and those after it were not tried.
"""

from __future__ import annotations

from dataclasses import dataclass

from sequencer.mail.providers.base import Check, ConnectionReport

SENDING_STEPS = (
    ("connect", "Connect", "Reach the SMTP server"),
    ("tls", "TLS", "Encrypt the connection"),
    ("login", "Login", "Sign in to the SMTP server"),
    ("send", "Send", "The server accepts this address as sender"),
)
PASSED, FAILED, NOT_TRIED, NOT_USED = "passed", "failed", "not tried", "not used"


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    what: str
    state: str
    message: str = ""


@dataclass(frozen=True)
class ReportView:
    ok: bool
    steps: list[Step]
    failed: Step | None
    address: Check | None
    sent_folder: str | None


def _sending(check: Check, security: str, api: bool) -> list[Step]:
    if api or (not check.ok and check.step is None):
        # The Gmail and Graph sign-ins are one step, and cannot tell where they stopped.
        state = PASSED if check.ok else FAILED
        return [Step("send", "Sending", "Send as this address", state, check.message)]
    steps = []
    reached = False
    for key, label, what in SENDING_STEPS:
        if key == "tls" and security == "none":
            steps.append(Step(key, label, what, NOT_USED, "Security is None: not encrypted."))
            continue
        if check.ok:
            message = check.message if key == "send" else ""
            steps.append(Step(key, label, what, PASSED, message))
        elif reached:
            steps.append(Step(key, label, what, NOT_TRIED))
        elif key == check.step:
            reached = True
            steps.append(Step(key, label, what, FAILED, check.message))
        else:
            steps.append(Step(key, label, what, PASSED))
    return steps


def _reading(check: Check) -> Step:
    what = "Sign in to IMAP and find the Sent folder, so replies are detected"
    if check.ok is None:
        return Step("imap", "IMAP", what, NOT_USED, check.message)
    return Step("imap", "IMAP", what, PASSED if check.ok else FAILED, check.message)


def report_view(report: ConnectionReport, *, smtp_security: str, api: bool = False) -> ReportView:
    """``api``: the mailbox sends through the Gmail or Graph API, not SMTP."""
    steps = [*_sending(report.sending, smtp_security, api), _reading(report.reading)]
    failed = next((s for s in steps if s.state == FAILED), None)
    return ReportView(
        ok=report.ok,
        steps=steps,
        failed=failed,
        address=report.address,
        sent_folder=report.sent_folder,
    )
