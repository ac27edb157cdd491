"""The SMTP + IMAP mailbox form: what the browser posts, as the typed input the mailbox
services take (:mod:`sequencer.mail.mailbox_input`), and their refusals as messages
next to the field they concern.

Field names are flat (``smtp_host``); the services' dotted fields (``smtp.host``) map to
them one to one, and the services' messages, written for API clients, are put in the
words of the form's labels ("Enter the SMTP password") by :func:`form_message`.
Passwords and tokens left blank are not sent, so on a change the saved ones are kept
(the service still asks for them again when the server moves).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from sequencer.domain.errors import InvalidInput
from sequencer.mail.mailbox_input import MailboxChanges, NewMailbox
from sequencer.mail.models import Mailbox, Security

SERVER_FIELDS = ("host", "port", "security", "username", "password")
AUTH_PASSWORD = "password"
AUTH_XOAUTH2 = "xoauth2"

# What to fix, per field, when the typed input refuses a value.
_HINTS = {
    "email": "Enter the mailbox's address, such as you@example.com.",
    "display_name": "Use at most 200 characters.",
    "host": "Enter a host name such as mail.example.com, without http:// or spaces.",
    "port": "Enter a port number from 1 to 65535, or leave it empty for the usual one.",
    "security": "Choose STARTTLS, TLS or None.",
    "username": "Use at most 255 characters.",
    "access_token": "Paste the OAuth2 access token.",
    "per_hour": "Enter a whole number.",
    "per_day": "Enter a whole number.",
    "min_spacing_seconds": "Enter a whole number of seconds.",
}

# The limits' labels on the page, for the services' messages that name the fields.
_LIMIT_LABELS = {
    "min_spacing_seconds": "Minimum spacing (seconds)",
    "per_hour": "Emails per hour",
    "per_day": "Emails per 24 hours",
}

# The form's words for the services' fields: the service speaks to API clients
# (``smtp.password``), the page to someone looking at a field labelled Password under SMTP.
_LABELS = {
    **{
        f"{kind}.{name}": f"{kind.upper()} {name}"
        for kind in ("smtp", "imap")
        for name in SERVER_FIELDS
    },
    "smtp": "SMTP server",
    "imap": "IMAP server",
    "oauth": "access token (XOAUTH2)",
    **_LIMIT_LABELS,
}

# The services' refusals that the form words its own way, by (field, code): what to do,
# in the labels' words. A refusal not listed keeps its message, with any field path in it
# replaced by its label.
_REWORDED = {
    ("smtp", "required"): "Enter the SMTP server: its host, port and security.",
    ("smtp.host", "required"): "Enter the SMTP host, such as mail.example.com.",
    ("imap.host", "required"): "Enter the IMAP host, such as mail.example.com.",
    ("smtp.password", "password_required"): (
        "Enter the SMTP password again: a saved password is only sent to the server it "
        "was given for, and the host, port or security changed."
    ),
    ("imap.password", "password_required"): (
        "Enter the IMAP password: a saved password is only sent to the server it was given for."
    ),
    ("oauth", "oauth_required"): (
        "Paste a new access token (XOAUTH2), or sign in again: the servers changed."
    ),
}

# "smtp.password", "limits.per_hour", "oauth" … as whole words in a message.
_PATH = re.compile(
    r"\b(?:limits\.)?(?:(?:smtp|imap)\.(?:"
    + "|".join(SERVER_FIELDS)
    + r")|"
    + "|".join(sorted(_LIMIT_LABELS))
    + r"|oauth|smtp|imap)\b(?!\.\w)"
)


def _in_form_words(message: str) -> str:
    """The message with the services' field paths put as the form's labels (``give
    smtp.password`` reads "enter the SMTP password")."""
    message = re.sub(
        r"\b([Gg])ive (?=(?:smtp|imap)\.|oauth)",
        lambda m: "Enter the " if m.group(1) == "G" else "enter the ",
        message,
    )
    return _PATH.sub(lambda m: _LABELS.get(m.group(0).removeprefix("limits."), m.group(0)), message)


def form_message(exc: InvalidInput) -> str:
    """A service's refusal as the form says it (the API's own message is unchanged)."""
    reworded = _REWORDED.get((exc.field or "", exc.code or ""))
    return reworded or _in_form_words(exc.message)


# The form's fields, in page order: the first error is the one focused.
FIELD_ORDER = (
    "email",
    "display_name",
    "auth",
    "access_token",
    *(f"smtp_{name}" for name in SERVER_FIELDS),
    *(f"imap_{name}" for name in SERVER_FIELDS),
    "per_hour",
    "per_day",
    "min_spacing_seconds",
)


@dataclass
class Parsed:
    """The input to give a service, or what is wrong with the form."""

    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def form_field(dotted: str | None) -> str:
    """The form's name for a service's field (``smtp.password`` -> ``smtp_password``)."""
    if not dotted:
        return "form"
    if dotted == "oauth" or dotted.startswith("oauth."):
        return "access_token"
    if dotted.startswith("limits."):
        return dotted.removeprefix("limits.")
    return dotted.replace(".", "_")


def errors_of(exc: ValidationError | InvalidInput) -> dict[str, str]:
    """Messages by form field, one per field."""
    if isinstance(exc, InvalidInput):
        return {form_field(exc.field): form_message(exc)}
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        name = form_field(".".join(loc))
        hint = _HINTS.get(loc[-1] if loc else "", "")
        found.setdefault(name, hint or str(error["msg"]))
    return found


def _text(post: Mapping[str, str], name: str) -> str:
    return str(post.get(name, "")).strip()


def _server(
    post: Mapping[str, str], kind: str, auth: str, errors: dict[str, str]
) -> dict[str, Any]:
    """One server's keys, leaving out what was left blank (the service completes it)."""
    server: dict[str, Any] = {}
    for name in ("host", "username"):
        if value := _text(post, f"{kind}_{name}"):
            server[name] = value
    port = _text(post, f"{kind}_port")
    if port:
        if port.isdigit():
            server["port"] = int(port)
        else:
            errors[f"{kind}_port"] = _HINTS["port"]
    security = _text(post, f"{kind}_security")
    if security:
        if security in Security.values:
            server["security"] = security
        else:
            errors[f"{kind}_security"] = _HINTS["security"]
    # A password is kept as typed (spaces can be part of it); blank keeps the saved one.
    password = str(post.get(f"{kind}_password", ""))
    if auth == AUTH_PASSWORD and password:
        server["password"] = password
    return server


def _auth(post: Mapping[str, str]) -> str:
    return AUTH_XOAUTH2 if post.get("auth") == AUTH_XOAUTH2 else AUTH_PASSWORD


def parse_new(post: Mapping[str, str]) -> tuple[NewMailbox | None, dict[str, str]]:
    """A new SMTP + IMAP mailbox from the Connect form, or the errors by field."""
    auth = _auth(post)
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "provider": "smtp_imap",
        "email": _text(post, "email"),
        "display_name": _text(post, "display_name"),
        "smtp": _server(post, "smtp", auth, errors),
    }
    if not data["email"]:
        errors["email"] = "Enter the mailbox's address, such as you@example.com."
    if _text(post, "imap_host") or _text(post, "imap_port") or _text(post, "imap_username"):
        data["imap"] = _server(post, "imap", auth, errors)
    if auth == AUTH_XOAUTH2:
        token = _text(post, "access_token")
        if token:
            data["oauth"] = {"access_token": token}
        else:
            errors["access_token"] = "Paste the OAuth2 access token, or choose Password."
    if errors:
        return None, errors
    try:
        return NewMailbox.model_validate(data), {}
    except ValidationError as exc:
        return None, errors_of(exc)


def parse_servers(
    post: Mapping[str, str], mailbox: Mailbox
) -> tuple[MailboxChanges | None, dict[str, str]]:
    """Changes to a saved SMTP + IMAP mailbox's servers; blank secrets stay as saved."""
    auth = AUTH_XOAUTH2 if mailbox.oauth_tokens else AUTH_PASSWORD
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "display_name": _text(post, "display_name"),
        "smtp": _server(post, "smtp", auth, errors),
    }
    if _text(post, "imap_host"):
        data["imap"] = _server(post, "imap", auth, errors)
    elif mailbox.has_imap:
        data["imap"] = None  # emptied: the mailbox no longer reads mail
    if auth == AUTH_XOAUTH2 and (token := _text(post, "access_token")):
        data["oauth"] = {"access_token": token}
    if errors:
        return None, errors
    try:
        return MailboxChanges.model_validate(data), {}
    except ValidationError as exc:
        return None, errors_of(exc)


def parse_limits(post: Mapping[str, str]) -> tuple[MailboxChanges | None, dict[str, str]]:
    """New sending limits; the bounds are the domain's (checked by the service)."""
    limits: dict[str, int] = {}
    errors: dict[str, str] = {}
    for name in ("per_hour", "per_day", "min_spacing_seconds"):
        raw = _text(post, name)
        if not raw.isdigit():
            errors[name] = _HINTS[name]
            continue
        limits[name] = int(raw)
    if errors:
        return None, errors
    return MailboxChanges.model_validate({"limits": limits}), {}


def first_error(errors: Mapping[str, str]) -> str | None:
    """The field to focus first: the earliest on the page."""
    for name in FIELD_ORDER:
        if name in errors:
            return name
    return next(iter(errors), None)


SERVER_TITLES = {
    "smtp": ("Sending (SMTP)", "The server your mail client sends through."),
    "imap": (
        "Reading (IMAP)",
        "Needed to see replies and bounces, so sequences stop when someone answers. "
        "Leave the host empty for none.",
    ),
}


def fields(values: Mapping[str, Any], errors: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Each form field's name, shown value and error, for the templates (which cannot
    look a key up by a name held in a variable)."""
    return {
        name: {"name": name, "value": values.get(name, ""), "error": errors.get(name, "")}
        for name in FIELD_ORDER
    }


def servers(f: Mapping[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The SMTP and IMAP fieldsets' fields, in order."""
    return [
        {
            "kind": kind,
            "title": SERVER_TITLES[kind][0],
            "help": SERVER_TITLES[kind][1],
            **{name: f[f"{kind}_{name}"] for name in SERVER_FIELDS},
        }
        for kind in ("smtp", "imap")
    ]
