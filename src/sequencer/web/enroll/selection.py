"""What the Enroll dialog was asked for: a sequence, people, a sender, address choices.

Other pages open the dialog with ``sequence=<id>``, repeated ``person=<id>``, or
``list=<id>`` with optional repeated ``entry=<id>``. Once open, the dialog carries the
people as one ``people`` field (comma-separated ids), so that a thousand people stay one
field, and each address chosen as ``address-<person id>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import QueryDict

from sequencer.sequences import enrollment
from sequencer.sequences.enrollment import MAX_RECIPIENTS


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.strip().isdigit()]


@dataclass
class Selection:
    sequence_id: int | None
    person_ids: list[int]  # in the order given, each once, at most MAX_RECIPIENTS
    asked: int  # how many people were asked for, before the limit
    sender: str  # "mailbox:<id>", "member:<id>" or "" (the default)
    addresses: dict[int, str] = field(default_factory=dict)
    preview: int | None = None
    # Opened without a sequence: the dialog keeps offering the choice of sequence.
    pick: bool = False
    query: str = ""  # the people search, while typing

    @property
    def over_limit(self) -> int:
        return max(0, self.asked - MAX_RECIPIENTS)

    @property
    def people_field(self) -> str:
        return ",".join(str(pid) for pid in self.person_ids)

    def recipients(self) -> list[enrollment.Recipient]:
        return [enrollment.Recipient(pid, self.addresses.get(pid)) for pid in self.person_ids]

    def sender_ids(self) -> tuple[int | None, int | None]:
        """(mailbox_id, member_id) for the service; both ``None`` when none was chosen."""
        kind, _, raw = self.sender.partition(":")
        if not raw.isdigit():
            return None, None
        if kind == "mailbox":
            return int(raw), None
        return (None, int(raw)) if kind == "member" else (None, None)


def read(data: QueryDict) -> Selection:
    if "people" in data:
        asked = _ids(data.get("people", "").split(","))
    elif "person" in data:
        asked = _ids(data.getlist("person"))
    elif (raw_list := data.get("list", "")).isdigit():
        entries = _ids(data.getlist("entry")) if "entry" in data else None
        asked = [r.person_id for r in enrollment.recipients_from_list(int(raw_list), entries)]
    else:
        asked = []
    # Changes made inside the dialog: a person found by the search, a whole list, or a
    # person taken out again.
    asked += _ids(data.getlist("add"))
    if (raw_add_list := data.get("add_list", "")).isdigit():
        asked += [r.person_id for r in enrollment.recipients_from_list(int(raw_add_list), None)]
    dropped = set(_ids(data.getlist("drop")))
    unique = [pid for pid in dict.fromkeys(asked) if pid not in dropped]
    raw_sequence = data.get("sequence", "")
    raw_preview = data.get("preview", "")
    kept = unique[:MAX_RECIPIENTS]
    addresses = {
        pid: value.strip().lower()
        for pid in kept
        if (value := data.get(f"address-{pid}", "")).strip()
    }
    return Selection(
        sequence_id=int(raw_sequence) if raw_sequence.isdigit() else None,
        person_ids=kept,
        asked=len(unique),
        sender=data.get("sender", ""),
        addresses=addresses,
        preview=int(raw_preview) if raw_preview.isdigit() else None,
        pick=data.get("pick") == "1" or not raw_sequence.isdigit(),
        # Cleared once a match was added, so the next search starts afresh.
        query="" if "add" in data else data.get("q", "").strip()[:100],
    )
