"""Amazon SES's notifications: bounces and complaints as JSON in a mail body.

A sender on SES can have its bounces and complaints mailed to it as JSON (through SNS,
whose envelope wraps the notification as a string in ``"Message"``). The object's
``notificationType`` is ``Bounce``, ``Complaint`` or ``Delivery``; a bounce lists
``bounce.bouncedRecipients`` (``emailAddress``, ``status``, ``diagnosticCode``) with
``bounce.bounceType`` ``Permanent`` or ``Transient``; a complaint lists
``complaint.complainedRecipients`` and its ``complaintFeedbackType``. The original
message's headers, when SES was told to include them, are in ``mail.headers``.

Such a message carries ``Feedback-ID`` like any SES mail, so it must be read before
the list markers make it ``other``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sequencer.mail.inbound import mime
from sequencer.mail.inbound.events import BounceInfo, ComplaintInfo

_STATUS = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}$")
_LOOSE_ADDRESS = re.compile(r'emailAddress\\?"\s*:\s*\\?"([^"\\\s]{1,254}@[^"\\\s]{1,254})')
_LOOSE_TYPE = re.compile(r'notificationType\\?"\s*:\s*\\?"(\w+)')


def _load(text: str) -> dict[str, Any] | None:
    start = text.find("{")
    if start < 0:
        return None
    try:
        data = json.loads(text[start : text.rfind("}") + 1])
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("Message"), str):
        # The SNS envelope: the notification itself is a JSON string inside.
        try:
            data = json.loads(data["Message"])
        except ValueError:
            return None
    return data if isinstance(data, dict) else None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value[:100] if isinstance(value, list) else []


def _original_id(data: dict[str, Any]) -> str | None:
    mail = _dict(data.get("mail"))
    for header in _list(mail.get("headers")):
        header = _dict(header)
        if str(header.get("name", "")).lower() == "message-id":
            ids = mime.message_ids(str(header.get("value", "")))
            if ids:
                return ids[0]
    ids = mime.message_ids(str(_dict(mail.get("commonHeaders")).get("messageId", "")))
    return ids[0] if ids else None


def read(body: str) -> BounceInfo | ComplaintInfo | str | None:
    """What an SES notification in ``body`` reports: a :class:`BounceInfo`, a
    :class:`ComplaintInfo`, the string ``"delivery"`` for a delivery notice, or
    ``None`` when ``body`` is no SES notification."""
    text = body[: mime.MAX_TEXT]
    if "notificationType" not in text:
        return None
    data = _load(text)
    if data is None:
        # Line-wrapped or cut JSON: the type and the addresses can still be read.
        loose = _LOOSE_TYPE.search(text)
        if loose is None:
            return None
        data = {"notificationType": loose.group(1)}
        addresses = [{"emailAddress": a} for a in _LOOSE_ADDRESS.findall(text)[:100]]
        data["bounce"] = {"bouncedRecipients": addresses}
        data["complaint"] = {"complainedRecipients": addresses}
    kind = str(data.get("notificationType", "")).lower()
    if kind == "delivery":
        return "delivery"
    if kind == "complaint":
        complaint = _dict(data.get("complaint"))
        recipients = [
            str(_dict(r).get("emailAddress", "")).lower()
            for r in _list(complaint.get("complainedRecipients"))
        ]
        feedback = str(complaint.get("complaintFeedbackType") or "abuse").lower()
        return ComplaintInfo(
            feedback_type=feedback,
            recipients=tuple(dict.fromkeys(r for r in recipients if "@" in r)),
            original_message_id=_original_id(data),
            reporter="Amazon SES",
        )
    if kind != "bounce":
        return None
    bounce = _dict(data.get("bounce"))
    listed = [_dict(r) for r in _list(bounce.get("bouncedRecipients"))]
    recipients = [str(r.get("emailAddress", "")).lower() for r in listed]
    statuses = [str(r.get("status", "")) for r in listed if _STATUS.match(str(r.get("status")))]
    diagnostics = [str(r.get("diagnosticCode", "")) for r in listed if r.get("diagnosticCode")]
    bounce_type = str(bounce.get("bounceType", "")).lower()
    status = statuses[0] if statuses else None
    permanent = bounce_type != "transient" and not (status or "").startswith("4")
    return BounceInfo(
        permanent=permanent,
        status=status or ("5.0.0" if permanent else "4.0.0"),
        recipients=tuple(dict.fromkeys(r for r in recipients if "@" in r)),
        original_message_id=_original_id(data),
        diagnostic=(" ".join(diagnostics[0].split())[:1000] if diagnostics else None),
    )
