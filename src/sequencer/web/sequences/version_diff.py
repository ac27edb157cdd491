"""What changed between two published versions: settings and step text, side by side.

Each changed field is a pair of columns (before, after) made of segments: text both
versions share, and the words only the older one had (removed) or only the newer one
has (added). Bodies are compared as the text a recipient reads (``html_to_text``), not
as markup, so a change of wording shows as words.

``difflib`` compares in time that grows with the product of the two lengths, so each
comparison is bounded: lines first, then words inside a changed line, and a line too
long to compare word by word is shown whole as removed and added.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sequencer.domain.sequence_rules import unsubscribe_phrase
from sequencer.domain.text import html_to_text
from sequencer.web.sequences.draft_form import holiday_countries

# Above this many words in a changed line (or lines in a field), pieces are not
# compared any finer: the whole piece is shown as removed and added.
MAX_TOKENS = 400
MAX_LINES = 2000

# Words, runs of blanks and runs of punctuation: "there," is the word "there" and ",".
_TOKENS = re.compile(r"\w+|\s+|[^\w\s]+")


@dataclass(frozen=True)
class Segment:
    kind: str  # "same", "removed" or "added"
    text: str


@dataclass
class FieldChange:
    label: str
    before: list[Segment]
    after: list[Segment]


@dataclass
class StepChange:
    number: int
    state: str  # "added", "removed" or "changed"
    fields: list[FieldChange] = field(default_factory=list)


@dataclass
class VersionDiff:
    settings: list[FieldChange]
    steps: list[StepChange]

    @property
    def empty(self) -> bool:
        return not self.settings and not self.steps


# --- Reading settings and steps as a person would ----------------------------------------

SETTING_LABELS = {
    "window": "Sending window",
    "time_zone": "Time zone",
    "business_days_only": "Business days only",
    "holiday_country": "Skip public holidays of",
    "use_recipient_time_zone": "Use the recipient's time zone",
    "unsubscribe_phrase": "Unsubscribe link",
    "thread_emails": "Thread emails",
    "include_signature": "Include sender signature",
    "signature": "Signature",
    "exit_on_reply": "Reply received",
    "exit_on_meeting_booked": "Meeting booked",
    "pause_on_out_of_office": "Pause on out-of-office replies",
}


@cache
def _country_names() -> dict[str, str]:
    return dict(holiday_countries())


def setting_text(key: str, value: Any) -> str:
    """A setting's value in words: "09:00 to 17:00", "On", "Germany"."""
    if isinstance(value, bool):
        return "On" if value else "Off"
    if key == "window" and isinstance(value, Mapping):
        start, end = value.get("start", ""), value.get("end", "")
        return "All day" if start == end == "00:00" else f"{start} to {end}"
    if key == "holiday_country":
        return _country_names().get(value, value) if value else "None"
    if key == "unsubscribe_phrase":
        try:
            return unsubscribe_phrase(str(value)).text
        except KeyError:
            return str(value)
    return "" if value is None else str(value)


def _wait_text(index: int, days: object) -> str:
    if index == 0:
        return "Immediately after enrollment" if days == 0 else f"{days} days after enrollment"
    return f"{days} day{'s' if days != 1 else ''} after the previous email"


def _body_text(html: object) -> str:
    return html_to_text(str(html or ""), links=True).strip()


# --- Comparing ------------------------------------------------------------------------


def diff_text(before: str, after: str) -> tuple[list[Segment], list[Segment]]:
    """``before`` and ``after`` as segments marking what each one alone has."""
    old_lines, new_lines = before.splitlines(keepends=True), after.splitlines(keepends=True)
    if len(old_lines) > MAX_LINES or len(new_lines) > MAX_LINES:
        return [Segment("removed", before)], [Segment("added", after)]
    left: list[Segment] = []
    right: list[Segment] = []
    lines = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for op, i1, i2, j1, j2 in lines.get_opcodes():
        old, new = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        if op == "equal":
            left.append(Segment("same", old))
            right.append(Segment("same", new))
        elif op == "replace":
            words_left, words_right = _diff_words(old, new)
            left += words_left
            right += words_right
        else:
            if old:
                left.append(Segment("removed", old))
            if new:
                right.append(Segment("added", new))
    return _merged(left), _merged(right)


def _diff_words(before: str, after: str) -> tuple[list[Segment], list[Segment]]:
    old, new = _TOKENS.findall(before), _TOKENS.findall(after)
    if len(old) > MAX_TOKENS or len(new) > MAX_TOKENS:
        return [Segment("removed", before)], [Segment("added", after)]
    left: list[Segment] = []
    right: list[Segment] = []
    words = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in words.get_opcodes():
        if op == "equal":
            left.append(Segment("same", "".join(old[i1:i2])))
            right.append(Segment("same", "".join(new[j1:j2])))
            continue
        if i2 > i1:
            left.append(Segment("removed", "".join(old[i1:i2])))
        if j2 > j1:
            right.append(Segment("added", "".join(new[j1:j2])))
    return left, right


def _merged(segments: list[Segment]) -> list[Segment]:
    """Neighbouring segments of one kind as one (fewer marks for the same meaning)."""
    out: list[Segment] = []
    for segment in segments:
        if out and out[-1].kind == segment.kind:
            out[-1] = Segment(segment.kind, out[-1].text + segment.text)
        elif segment.text:
            out.append(segment)
    return out


def _field(label: str, before: str, after: str) -> FieldChange | None:
    if before == after:
        return None
    left, right = diff_text(before, after)
    return FieldChange(label, left, right)


def _step_fields(index: int, step: Mapping[str, Any]) -> dict[str, str]:
    return {
        "Wait": _wait_text(index, step.get("delay_days")),
        "Subject": str(step.get("subject", "")),
        "Body": _body_text(step.get("body_html")),
        "Attachments": _count(step.get("attachment_ids")),
    }


def _count(ids: object) -> str:
    n = len(ids) if isinstance(ids, list) else 0
    return "None" if n == 0 else f"{n} file{'s' if n != 1 else ''}"


def compare(
    before_settings: Mapping[str, Any],
    before_steps: Sequence[Mapping[str, Any]],
    after_settings: Mapping[str, Any],
    after_steps: Sequence[Mapping[str, Any]],
) -> VersionDiff:
    """Every setting and step field that differs, in the order a person reads them."""
    settings = [
        change
        for key, label in SETTING_LABELS.items()
        if (
            change := _field(
                label,
                setting_text(key, before_settings.get(key)),
                setting_text(key, after_settings.get(key)),
            )
        )
    ]
    steps: list[StepChange] = []
    for index in range(max(len(before_steps), len(after_steps))):
        old = _step_fields(index, before_steps[index]) if index < len(before_steps) else None
        new = _step_fields(index, after_steps[index]) if index < len(after_steps) else None
        if old is None or new is None:
            shown = new or old or {}
            state = "added" if old is None else "removed"
            kind = "added" if old is None else "removed"
            fields = [
                FieldChange(
                    label,
                    [] if state == "added" else [Segment(kind, text)],
                    [Segment(kind, text)] if state == "added" else [],
                )
                for label, text in shown.items()
                if text and text != "None"
            ]
            steps.append(StepChange(index + 1, state, fields))
            continue
        fields = [c for label in old if (c := _field(label, old[label], new[label]))]
        if fields:
            steps.append(StepChange(index + 1, "changed", fields))
    return VersionDiff(settings, steps)
