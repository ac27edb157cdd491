"""Email addresses of people: what is accepted and how it is stored."""

from __future__ import annotations

from datetime import datetime

from email_validator import EmailNotValidError, validate_email

from sequencer.domain.errors import InvalidInput


def normalize_email(raw: object, field: str = "email") -> str:
    """The address as stored: syntax-checked (no DNS lookup) and lower-cased.

    Lower-cased entirely, local part included: mail servers treat it case-insensitively
    in practice, and one person per address must hold whatever case was typed.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput(
            "An email address is required, such as ada@example.com.",
            field=field,
            code="required",
        )
    text = raw.strip()
    try:
        # test_environment admits the reserved ``.test`` domain (RFC 6761), which
        # self-hosters use for staging mail servers; ``.invalid`` and ``localhost`` stay out.
        checked = validate_email(text, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise InvalidInput(
            f"{text!r} is not a valid email address: {exc}", field=field, code="invalid_email"
        ) from None
    return checked.normalized.lower()


def mark_undeliverable(address: str, reason: str, at: datetime) -> int:
    """Record that mail to ``address`` bounced permanently (idempotent: the first
    bounce's time and reason are kept); the number of addresses marked."""
    from sequencer.crm.models import EmailAddress

    return EmailAddress.objects.filter(
        email=address.strip().lower(), undeliverable_since__isnull=True
    ).update(undeliverable_since=at, undeliverable_reason=reason[:2000])
