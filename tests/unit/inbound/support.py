"""Helpers for the inbound tests: the corpus on disk and small hand-built messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
MAILBOX = "alice@northwind.test"
RECEIVED = datetime(2025, 12, 10, 9, 0, tzinfo=UTC)


def manifest() -> dict[str, dict]:
    data = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
    return {name: entry for name, entry in data.items() if not name.startswith("_")}


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.eml"))


def message(body: str = "", *, subject: str = "Re: Quick question", **headers: str) -> bytes:
    """A small plain-text message from a prospect to the mailbox. Keyword arguments add
    headers (``in_reply_to="<x@y>"`` becomes ``In-Reply-To: <x@y>``); ``from_`` replaces
    the sender."""
    fields = {
        "From": headers.pop("from_", "Tom Baker <tom@initech.test>"),
        "To": MAILBOX,
        "Subject": subject,
        "Date": "Wed, 10 Dec 2025 09:00:00 +0000",
        "Message-ID": "<m1@initech.test>",
        "MIME-Version": "1.0",
        "Content-Type": 'text/plain; charset="utf-8"',
        "Content-Transfer-Encoding": "8bit",
    }
    for key, value in headers.items():
        name = "-".join(part.capitalize() for part in key.split("_"))
        name = {"Message-Id": "Message-ID", "In-Reply-To": "In-Reply-To"}.get(name, name)
        fields[name] = value
    head = "".join(f"{k}: {v}\n" for k, v in fields.items())
    return (head + "\n" + body).encode("utf-8")
