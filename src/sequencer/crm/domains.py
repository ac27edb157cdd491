"""Company domains: ``https://www.Acme.com/about`` is stored as ``acme.com``."""

from __future__ import annotations

import re

from sequencer.domain.errors import InvalidInput

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")


def normalize_domain(raw: object, field: str = "domains") -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidInput("A domain is required, such as acme.com.", field=field, code="required")
    text = raw.strip().lower()
    text = _SCHEME.sub("", text)
    # Keep only the host: people paste URLs and addresses with paths, ports and users.
    text = re.split(r"[/?#]", text, maxsplit=1)[0]
    text = text.rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".")
    if text.startswith("www.") and text.count(".") >= 2:  # www.com itself is a domain
        text = text[4:]
    try:
        text = text.encode("idna").decode("ascii")
    except UnicodeError:
        text = ""
    labels = text.split(".")
    if (
        len(labels) < 2
        or len(text) > 253
        or not all(_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidInput(
            f"{raw.strip()!r} is not a domain; write one such as acme.com.",
            field=field,
            code="invalid_domain",
        )
    return text
