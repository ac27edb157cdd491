"""The day an out-of-office says its writer is back.

Auto-replies state a return date in free text, in many languages and styles: "I will be
back on 14 December", "returning Monday, January 5th", "out until 12/01/2026", "ab dem
5. Januar wieder im Büro", "de retour le 3 janvier", "hasta el 7 de enero de 2026",
"terug op maandag 12 januari", "rientro il 12 gennaio", "back 2026-01-07". This module
finds every date written in the text and keeps the one the text says is the return.

**Which date.** A date counts only when the words around it say it is about being back
(the text is lower-cased and stripped of accents first):

- *return words*: back, return(ing), again, zurück, wieder, retour, regreso, vuelta,
  terug, weer, rientro, ritorno… in the same sentence before the date, or wieder,
  zurück, weer, terug or again just after it, where German and Dutch put them ("ab dem
  5. Januar wieder erreichbar", "vanaf 6 januari weer bereikbaar");
- *availability words* followed by "on"/"from" (available, reachable, in the office,
  erreichbar, disponible, bereikbaar…: "available from 5 January"), unless negated
  ("not available from 20 December" is when the absence starts);
- *until words*: until, till, through, bis, jusqu'au, hasta, tot (en met), t/m, fino
  al, and the end of a range ("from 22 December to 2 January", "22.12. - 5.1.",
  "du 1 au 12", "del 1 al 12").

The first date with a return or availability word wins; failing that, the first date
with an until word. A date with none of them ("your email of 3 December") is never
taken. A weekday written alone ("back on Monday") is the first such day after the last
date mentioned before it, or after the day the message arrived.

**Which year.** A date without a year is the next occurrence on or after the day the
message arrived. A date before that day is ignored (the text is about the past), and
so is one more than :data:`MAX_AHEAD_DAYS` ahead; with no date left the answer is
``None``: no answer is better than a wrong one.

**Numeric dates.** ``2026-01-07`` is ISO (year first) and ``5.1.2026`` is day first,
always. A slashed or dashed ``a/b/yyyy`` is read:

1. day first when ``a`` > 12, month first when ``b`` > 12 (only one reading exists);
2. otherwise in the mailbox's convention when the caller gives it (``day_first``);
3. otherwise month first when the message declares US English (``Content-Language:
   en-US``), and day first in every other case, as most of the world writes dates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from sequencer.mail.inbound.stop import fold

#: Furthest ahead a return date may be, in days (a long leave, not a typo).
MAX_AHEAD_DAYS = 400
#: Most characters searched for dates.
MAX_TEXT = 20_000

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        "january jan januar janner janv janvier enero ene januari gennaio genn gen",
        "february feb februar fevrier fev fevr febrero februari febbraio febb",
        "march mar marz maerz mars marzo maart mrt",
        "april apr avril avr abril abr aprile",
        "may mai mayo mei maggio mag",
        "june jun juni juin junio giugno giu",
        "july jul juli juillet juil julio luglio lug",
        "august aug aout agosto augustus ago",
        "september sep sept septembre septiembre setiembre settembre sett set",
        "october oct okt oktober octobre octubre oktober ottobre ott",
        "november nov novembre noviembre",
        "december dec dez dezember decembre diciembre dic dicembre",
    ],
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

_WEEKDAYS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        "monday mon montag lundi lunes maandag lunedi",
        "tuesday tue tues dienstag mardi martes dinsdag martedi",
        "wednesday wed mittwoch mercredi miercoles woensdag mercoledi",
        "thursday thu thur thurs donnerstag jeudi jueves donderdag giovedi",
        "friday fri freitag vendredi viernes vrijdag venerdi",
        "saturday sat samstag sonnabend samedi sabado zaterdag sabato",
        "sunday sun sonntag dimanche domingo zondag domenica",
    ]
):
    for _name in _names.split():
        _WEEKDAYS[_name] = _number

_ORDINAL = r"(?:st|nd|rd|th|er|re|eme|e|o|º|°|\.)?"
_YEAR = r"(?:,?\s*(?:del?\s+)?(?P<y>\d{4}))?"

# Month names are matched as any word and then looked up in _MONTHS: one regex
# alternation of a hundred names would be tried at every word of the text.
_PATTERNS = [
    # 2026-01-07
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b"),
    # 5.1.2026, 5.1.26, 05.01. (German style: always day first)
    re.compile(r"\b(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?:(?P<y>\d{4}|\d{2})\b)?"),
    # 12/01/2026, 1/12, 12-01-2026 (ambiguous)
    re.compile(r"\b(?P<a>\d{1,2})(?P<sep>[/-])(?P<b>\d{1,2})(?:(?P=sep)(?P<y>\d{4}|\d{2}))?\b"),
    # 14 December, 14th of December, 5. Januar, 1er janvier, 7 de enero de 2026
    re.compile(
        rf"\b(?P<d>\d{{1,2}}){_ORDINAL}\s*(?:of\s+|de\s+|\.\s*)?(?P<mon>[a-z]{{3,10}})\b\.?" + _YEAR
    ),
    # December 14, January 5th, Dec 14th 2026
    re.compile(
        r"\b(?P<mon>[a-z]{3,10})\b\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?\b(?!\s*[:h]\d)" + _YEAR
    ),
]
_WEEKDAY = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
# A weekday standing alone is only taken written in full ("mon" is also French "my").
_FULL_WEEKDAYS = tuple(sorted((n for n in _WEEKDAYS if len(n) >= 5), key=len, reverse=True))
_LONE_WEEKDAY = re.compile(r"\b(?P<wd>" + "|".join(_FULL_WEEKDAYS) + r")\b")

_RETURN_BEFORE = re.compile(
    r"\b(?:back|return|returns|returning|returned|again|zuruck|wieder|retour|reviendrai|"
    r"regreso|regresare|regresa|vuelta|volvere|terug|weer|rientro|rientrero|ritorno|tornero|"
    r"retorno|tillbaka)\b",
    re.IGNORECASE,
)
# German and Dutch put the return word after the date ("ab dem 5. Januar wieder da",
# "vanaf 5 januari weer terug").
_RETURN_AFTER = re.compile(
    r"^\W{0,3}(?:\w+\W+){0,2}(?:wieder|zuruck|weer|terug|again)\b", re.IGNORECASE
)
_AVAILABLE_BEFORE = re.compile(
    r"\b(?:available|reachable|in\s+the\s+office|erreichbar|im\s+buro|disponible|"
    r"au\s+bureau|en\s+la\s+oficina|bereikbaar|beschikbaar|op\s+kantoor|disponibile|"
    r"in\s+ufficio)\b.{0,30}?\b(?:on|from|as\s+of|after|starting|ab|am|vom|le|des|"
    r"a\s+partir\s+du|a\s+partir\s+del|desde|el|vanaf|op|per|dal|il|a\s+partire\s+dal)"
    r"(?:\s+(?:dem|the|le|el|il))?\W{0,3}(?:(?:" + _WEEKDAY + r")\W{1,3})?$",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"(?:\b(?:not|nicht|pas|no|niet|non|kein|keine|nie|never)\b|n't\b)", re.IGNORECASE
)
_UNTIL_BEFORE = re.compile(
    r"(?:\b(?:until|till|til|through|thru|to|bis|jusqu'?(?:au|a)?|au|hasta|al|"
    r"tot(?:\s+en\s+met)?|t/m|fino\s+al|fino\s+a|a|and|und|et|y)\b|[-\u2013\u2014])"
    r"(?:\s+(?:and\s+including|einschliesslich|inclusive|incluido|inclus|compreso|zum|"
    r"dem|el|le|il|the|den|op|einschl\.?))*"
    r"\W{0,3}(?:(?:" + _WEEKDAY + r")\W{1,3})?$",
    re.IGNORECASE,
)
_SENTENCE_BREAK = re.compile(r"[.!?;\n]\s|\n")


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    day: date
    weekday: int | None = None  # set for a weekday written alone


def _year_for(day: int, month: int, year: int | None, today: date) -> date | None:
    try:
        if year is not None:
            if year < 100:
                year += 2000
            return date(year, month, day)
        candidate = date(today.year, month, day)
        if candidate < today:
            candidate = date(today.year + 1, month, day)
        return candidate
    except ValueError:
        return None


def _ambiguous(a: int, b: int, day_first: bool) -> tuple[int, int]:
    """``(day, month)`` of a numeric ``a/b`` date (see the module's rule)."""
    if a > 12:
        return a, b
    if b > 12:
        return b, a
    return (a, b) if day_first else (b, a)


def _find_dates(text: str, today: date, day_first: bool) -> list[_Found]:
    found: list[_Found] = []
    taken: list[tuple[int, int]] = []

    def overlaps(start: int, end: int) -> bool:
        return any(start < e and s < end for s, e in taken)

    for index, pattern in enumerate(_PATTERNS):
        for match in pattern.finditer(text):
            if overlaps(match.start(), match.end()):
                continue
            groups = match.groupdict()
            year = int(groups["y"]) if groups.get("y") else None
            if index == 2:
                day_, month = _ambiguous(int(groups["a"]), int(groups["b"]), day_first)
            elif "mon" in groups:
                if groups["mon"] not in _MONTHS:
                    continue
                day_, month = int(groups["d"]), _MONTHS[groups["mon"]]
            else:
                day_, month = int(groups["d"]), int(groups["m"])
            if not 1 <= month <= 12:
                continue
            value = _year_for(day_, month, year, today)
            taken.append((match.start(), match.end()))
            if value is not None:
                found.append(_Found(match.start(), match.end(), value))
    weekdays = _LONE_WEEKDAY.finditer(text) if any(w in text for w in _FULL_WEEKDAYS) else ()
    for match in weekdays:
        if overlaps(match.start() - 12, match.end() + 12):
            continue  # part of a full date ("Monday, January 5th", "5 janvier (lundi)")
        target = _WEEKDAYS[match.group("wd")]
        ahead = (target - today.weekday() - 1) % 7 + 1
        found.append(_Found(match.start(), match.end(), today + timedelta(days=ahead), target))
    found.sort(key=lambda f: f.start)
    return found


def _clause_before(text: str, start: int, floor: int) -> str:
    """The text of the same sentence before ``start`` (at most 80 characters, and not
    reaching back past the previous date)."""
    window = text[max(floor, start - 80) : start]
    breaks = list(_SENTENCE_BREAK.finditer(window))
    return window[breaks[-1].end() :] if breaks else window


def return_date(text: str, today: date, *, day_first: bool = True) -> date | None:
    """The return date stated in an auto-reply's ``text`` (subject and new text), as
    the module describes; ``today`` is the day the message arrived."""
    folded = fold(text[:MAX_TEXT])
    dates = _find_dates(folded, today, day_first)
    best: date | None = None
    previous_end = 0
    latest = today
    for found in dates:
        before = _clause_before(folded, found.start, previous_end)
        after = folded[found.end : found.end + 30]
        previous_end = found.end
        day = found.day
        if found.weekday is not None:
            # "out from 20 December, back on Monday": the Monday after the last date seen.
            day = latest + timedelta(days=(found.weekday - latest.weekday() - 1) % 7 + 1)
        if not today <= day <= today + timedelta(days=MAX_AHEAD_DAYS):
            continue
        latest = max(latest, day)
        if _RETURN_BEFORE.search(before) or _RETURN_AFTER.match(after):
            return day
        if _AVAILABLE_BEFORE.search(before) and not _NEGATION.search(before):
            return day
        if best is None and _UNTIL_BEFORE.search(before):
            best = day
    return best
