"""The rules of a sequence's settings, steps and access levels, free of storage.

Settings are kept as one JSON object. :func:`merge_settings` is the only way to change
them: it applies a partial change to the current settings and refuses anything the
sending engine could not honour, naming the offending field under ``settings.``.

Access is one of four ordered levels; :func:`effective_level` decides a member's level
on one sequence from the grants that apply to them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from sequencer.domain.errors import InvalidInput
from sequencer.domain.schedule import SendingWindow, parse_holiday_country, parse_zone
from sequencer.domain.sender import DEFAULT_SIGNATURE, parse_signature_choice

UNTITLED = "Untitled Sequence"
MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 5_000
MAX_SUBJECT_LENGTH = 500
MAX_BODY_LENGTH = 512 * 1024
MAX_STEPS = 50
MAX_DELAY_DAYS = 365
# A later step's default wait when a client adds one without saying how long.
DEFAULT_LATER_DELAY_DAYS = 1


# --- Unsubscribe phrases ------------------------------------------------------------


@dataclass(frozen=True)
class UnsubscribePhrase:
    """A line at the bottom of every email; ``link_text`` (part of ``text``) is the link."""

    id: str
    text: str
    link_text: str


UNSUBSCRIBE_PHRASES: tuple[UnsubscribePhrase, ...] = (
    UnsubscribePhrase("unsubscribe", "Unsubscribe", "Unsubscribe"),
    UnsubscribePhrase(
        "no_more_emails",
        "Prefer not to get emails like this? Unsubscribe here.",
        "Unsubscribe here",
    ),
    UnsubscribePhrase(
        "let_me_know",
        "If this isn't relevant to you, let me know and I won't email again.",
        "let me know",
    ),
    UnsubscribePhrase(
        "opt_out",
        "Not the right time? Opt out of these emails.",
        "Opt out of these emails",
    ),
    UnsubscribePhrase(
        "stop_following_up",
        "Click here if you'd like me to stop following up.",
        "Click here",
    ),
)
_PHRASES_BY_ID = {phrase.id: phrase for phrase in UNSUBSCRIBE_PHRASES}


def unsubscribe_phrase(phrase_id: str) -> UnsubscribePhrase:
    """The phrase with ``phrase_id``; ``KeyError`` when there is none."""
    return _PHRASES_BY_ID[phrase_id]


# --- Settings -------------------------------------------------------------------------

DEFAULT_SETTINGS: Mapping[str, Any] = {
    "window": {"start": "09:00", "end": "17:00"},
    "time_zone": "UTC",
    "business_days_only": True,
    "holiday_country": None,
    "use_recipient_time_zone": False,
    "unsubscribe_phrase": UNSUBSCRIBE_PHRASES[0].id,
    "thread_emails": True,
    "include_signature": True,
    # Which of the sender's signatures: "default" or a signature's name (domain/sender.py).
    "signature": DEFAULT_SIGNATURE,
    "exit_on_reply": True,
    "exit_on_meeting_booked": False,
    # An out-of-office that states a return date pauses the recipient until then.
    "pause_on_out_of_office": True,
}
_BOOLEANS = (
    "pause_on_out_of_office",
    "business_days_only",
    "use_recipient_time_zone",
    "thread_emails",
    "include_signature",
    "exit_on_reply",
    "exit_on_meeting_booked",
)


def default_settings() -> dict[str, Any]:
    return _copy(DEFAULT_SETTINGS)


def merge_settings(
    current: Mapping[str, Any] | None, changes: Mapping[str, Any], *, field: str = "settings"
) -> dict[str, Any]:
    """``current`` with ``changes`` applied, validated and normalised.

    ``changes`` is partial: keys left out keep their current value, and ``window`` merges
    too (``{"window": {"end": "18:00"}}`` keeps the start). Missing current values take
    the defaults, so settings saved by an older version gain new keys on the next save.
    """
    if not isinstance(changes, Mapping):
        raise InvalidInput(f"{field} must be an object.", field=field, code="invalid")
    merged = {**default_settings(), **_copy(current or {})}
    for key, value in changes.items():
        if key not in DEFAULT_SETTINGS:
            known = ", ".join(DEFAULT_SETTINGS)
            raise InvalidInput(
                f"{field}.{key} is not a setting; the settings are {known}.",
                field=f"{field}.{key}",
                code="unknown_field",
            )
        if key == "window" and isinstance(value, Mapping):
            merged["window"] = {**merged["window"], **value}
        else:
            merged[key] = value
    return validate_settings(merged, field=field)


def validate_settings(settings: Mapping[str, Any], *, field: str = "settings") -> dict[str, Any]:
    """A complete settings object, checked and normalised (the form stored and published)."""
    out: dict[str, Any] = {}

    window = settings.get("window")
    if not isinstance(window, Mapping):
        raise InvalidInput(
            f'{field}.window must be {{"start": "HH:MM", "end": "HH:MM"}}, '
            'e.g. {"start": "09:00", "end": "17:00"}',
            field=f"{field}.window",
            code="invalid_window",
        )
    unknown = set(window) - {"start", "end"}
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidInput(
            f"{field}.window.{name} is not part of a window; give only start and end.",
            field=f"{field}.window.{name}",
            code="unknown_field",
        )
    try:
        SendingWindow.parse(window.get("start"), window.get("end"))  # type: ignore[arg-type]
    except InvalidInput as exc:
        raise exc.under(field) from None
    out["window"] = {"start": window["start"], "end": window["end"]}

    time_zone = settings.get("time_zone")
    out["time_zone"] = parse_zone(time_zone, field=f"{field}.time_zone").key  # type: ignore[arg-type]
    out["holiday_country"] = parse_holiday_country(
        settings.get("holiday_country"), field=f"{field}.holiday_country"
    )

    phrase = settings.get("unsubscribe_phrase")
    if not isinstance(phrase, str) or phrase not in _PHRASES_BY_ID:
        choices = ", ".join(p.id for p in UNSUBSCRIBE_PHRASES)
        raise InvalidInput(
            f"{field}.unsubscribe_phrase {phrase!r} is not one of the phrases; choose one of "
            f"{choices} (GET /api/v1/unsubscribe-phrases shows their text).",
            field=f"{field}.unsubscribe_phrase",
            code="unknown_unsubscribe_phrase",
        )
    out["unsubscribe_phrase"] = phrase
    out["signature"] = parse_signature_choice(
        settings.get("signature", DEFAULT_SIGNATURE), field=f"{field}.signature"
    )

    for name in _BOOLEANS:
        value = settings.get(name)
        if not isinstance(value, bool):
            raise InvalidInput(
                f"{field}.{name} must be true or false.", field=f"{field}.{name}", code="invalid"
            )
        out[name] = value
    if not out["exit_on_reply"]:
        raise InvalidInput(
            f"{field}.exit_on_reply cannot be turned off: a recipient who replies always "
            "leaves the sequence, so nobody gets a follow-up to a conversation they started.",
            field=f"{field}.exit_on_reply",
            code="always_on",
        )
    # Keys in the order of DEFAULT_SETTINGS so that snapshots compare and read alike.
    return {key: out[key] for key in DEFAULT_SETTINGS}


# --- Steps ----------------------------------------------------------------------------


def default_delay(position: int) -> int:
    return 0 if position == 0 else DEFAULT_LATER_DELAY_DAYS


def check_delay(position: int, delay: object, *, field: str = "steps") -> int:
    """``delay`` for the step at ``position`` (0-based) if allowed, else ``InvalidInput``.

    The first step may go out straight away (0 days); every later one waits at least a
    day, so that no two emails of a sequence reach someone on the same day.
    """
    name = f"{field}.{position}.delay_days"
    if isinstance(delay, bool) or not isinstance(delay, int):
        raise InvalidInput(
            f"{name} must be a whole number of days, e.g. 2; got {delay!r}.",
            field=name,
            code="invalid_delay",
        )
    minimum = 0 if position == 0 else 1
    if delay < minimum:
        rule = (
            "the first step waits 0 or more days"
            if position == 0
            else "every step after the first waits at least 1 day"
        )
        raise InvalidInput(f"{name} is {delay}; {rule}.", field=name, code="invalid_delay")
    if delay > MAX_DELAY_DAYS:
        raise InvalidInput(
            f"{name} is {delay}; a step waits at most {MAX_DELAY_DAYS} days.",
            field=name,
            code="invalid_delay",
        )
    return delay


_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\x00\u2028\u2029\x85]+")


def clean_subject(subject: str) -> str:
    """A subject on one line: line breaks would let a subject forge extra mail headers."""
    return _LINE_BREAKS.sub(" ", subject).strip()


def threaded_subject(first_subject: str) -> str:
    """The subject of a later step when emails are threaded: a reply to the first."""
    first = first_subject.strip()
    if re.match(r"re:", first, flags=re.IGNORECASE):
        return first
    return f"RE: {first}".rstrip()


def effective_subjects(subjects: Sequence[str], *, thread_emails: bool) -> list[str]:
    """The subject each step is sent with.

    With threading on, only the first subject is the author's; later steps are sent as
    replies to it. With threading off, every step keeps its own.
    """
    if not thread_emails or not subjects:
        return list(subjects)
    return [subjects[0]] + [threaded_subject(subjects[0]) for _ in subjects[1:]]


def display_name(name: str) -> str:
    return name.strip() or UNTITLED


def copy_name(name: str) -> str:
    """The name of a duplicate: "Copy of <name>", cut to fit."""
    return f"Copy of {display_name(name)}"[:MAX_NAME_LENGTH]


# --- Access -----------------------------------------------------------------------------


class Level(IntEnum):
    """What a member may do with one sequence; a higher level includes every lower one.

    * ``FULL_ACCESS``: manage who has access, plus everything below.
    * ``READ_WRITE``: edit, publish, discard, archive and enroll.
    * ``READ_ONLY``: see the sequence, its versions and its recipients; duplicate it.
    * ``NO_ACCESS``: the sequence does not exist as far as the member can tell.
    """

    NO_ACCESS = 0
    READ_ONLY = 1
    READ_WRITE = 2
    FULL_ACCESS = 3

    @property
    def slug(self) -> str:
        return self.name.lower()

    @property
    def label(self) -> str:
        return _LABELS[self]

    @classmethod
    def parse(cls, value: object, *, field: str = "level") -> Level:
        if isinstance(value, str):
            for level in cls:
                if level.slug == value:
                    return level
        choices = ", ".join(level.slug for level in cls)
        raise InvalidInput(
            f"{field} {value!r} is not an access level; use one of {choices}.",
            field=field,
            code="invalid_level",
        )


_LABELS = {
    Level.NO_ACCESS: "No access",
    Level.READ_ONLY: "Read only",
    Level.READ_WRITE: "Read and write",
    Level.FULL_ACCESS: "Full access",
}


def effective_level(
    *,
    is_admin: bool,
    member_grant: Level | None,
    team_grants: Iterable[Level],
    workspace_default: Level,
) -> Level:
    """A member's level on one sequence.

    Workspace admins always have full access (somebody must be able to repair a sequence
    whose owner left). Otherwise the most specific grant wins: the member's own grant,
    even when lower than a team's (that is how an owner keeps one person out of a team
    that may edit); else the highest grant among the member's teams; else the
    workspace default.
    """
    if is_admin:
        return Level.FULL_ACCESS
    if member_grant is not None:
        return member_grant
    teams = list(team_grants)
    if teams:
        return max(teams)
    return workspace_default


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
