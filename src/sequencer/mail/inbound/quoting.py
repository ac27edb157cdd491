"""The new text of a reply: what the person wrote, without the history they quoted.

Mail clients mark the start of quoted history in a handful of ways, which this module
recognises line by line (so its cost is linear in the text, whatever the input):

- an attribution line: Gmail ``On Tue, 3 Mar 2026 at 10:02, Alice <a@x> wrote:``
  (sometimes wrapped over two or three lines), Apple Mail ``On 3 Mar 2026, at 10:02,
  Alice <a@x> wrote:``, Thunderbird ``On 03/03/2026 10:02, Alice wrote:``, and their
  German, French, Spanish, Dutch, Italian, Portuguese and Scandinavian forms
  (``Am … schrieb …:``, ``Le … a écrit :``, ``El … escribió:``…);
- Outlook's ``-----Original Message-----`` rule and its translations;
- a header block Outlook puts under its reply rule: ``From: …`` followed within a few
  lines by ``Sent: …`` / ``Date: …`` (``Von:``/``Gesendet:``, ``De :``/``Envoyé :``…);
- ``> `` quoting, which is dropped wherever it appears (inline replies keep their own
  lines).

Everything from the first history marker on is cut. When the marker is the first thing
in the message (a bottom-posted reply), the marker and the quoted lines are dropped and
what follows them is kept instead. Client footers ("Sent from my iPhone", "Get Outlook
for iOS") and a ``-- `` signature are removed too.
"""

from __future__ import annotations

import re

#: Most lines looked at; the new text of a reply is at its top.
MAX_LINES = 3_000
#: Longest line tested against the attribution patterns.
MAX_ATTRIBUTION = 400

_WROTE = (
    r"wrote|writes|schrieb|a\s+[ée]crit|escribi[óo]|schreef|ha\s+scritto|escreveu|skrev|"
    r"kirjoitti|napisa[łl]\(?a?\)?|napsal\(?a?\)?|yazd[\u0131i]"
)
_ATTRIBUTION_END = re.compile(rf"(?:^|\s|>|\))(?:{_WROTE})\s*:\s*$", re.IGNORECASE)
_WROTE_INSIDE = re.compile(rf"(?:^|\s)(?:{_WROTE})\s", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(
    r"^(?:on|am|le|el|op|il|em|den|d\.|w\s+dniu|dne|p[åa])\b", re.IGNORECASE
)
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:original message|urspr[üu]ngliche nachricht|message d'origine|"
    r"mensaje original|oorspronkelijk bericht|messaggio originale|mensagem original|"
    r"originalmeddelande|oprindelig meddelelse|opprinnelig melding|forwarded message|"
    r"weitergeleitete nachricht|message transf[ée]r[ée]|mensaje reenviado)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{8,}\s*$")
_HEADER_FROM = re.compile(
    r"^\s*\*?(?:from|von|de|van|da|fr[åa]n|fra|od|l[äa]hett[äa]j[äa])\s*\*?\s*:\s*\S",
    re.IGNORECASE,
)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(?:sent|date|to|subject|gesendet|datum|an|betreff|envoy[ée]|[àa]|objet|"
    r"enviado|fecha|para|asunto|verzonden|aan|onderwerp|inviato|data|oggetto|skickat|"
    r"sendt|till|til|emne|[äa]mne|wys[łl]ano|temat)\s*\*?\s*:",
    re.IGNORECASE,
)
_FOOTER = re.compile(
    r"^\s*(?:sent from my \w+(?: \w+)?|sent from (?:mail|outlook|yahoo mail|gmail)\b.*|"
    r"get outlook for \w+.*|von meinem \w+(?: \w+)? gesendet|gesendet von meinem \w+.*|"
    r"envoy[ée] de mon \w+.*|enviado desde mi \w+.*|verzonden vanaf mijn \w+.*|"
    r"inviato da(?:l mio)? \w+.*|enviado do meu \w+.*)\s*$",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^-- ?$")


def _history_start(lines: list[str]) -> int | None:
    """Index of the first line of quoted history, or ``None`` when there is none."""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(">"):
            continue
        if _SEPARATOR.match(stripped):
            return i
        if _RULE.match(stripped):
            for follower in lines[i + 1 : i + 4]:
                if _HEADER_FROM.match(follower):
                    return i
            continue
        if _HEADER_FROM.match(stripped) and any(
            _HEADER_NEXT.match(f) for f in lines[i + 1 : i + 5]
        ):
            return i
        if len(stripped) <= MAX_ATTRIBUTION and stripped.endswith(":"):
            start = _attribution_start(lines, i)
            if start is not None:
                return start
    return None


def _attribution_start(lines: list[str], i: int) -> int | None:
    """Where the attribution that ends with line ``i`` (which ends with a colon)
    starts, or ``None`` when line ``i`` ends none.

    "… Alice <a@x> wrote:" ends one whatever precedes it; "Am … schrieb Alice <a@x>:"
    (German, Dutch and others put the verb before the name) ends one when it, or one of
    the two lines above it (a long attribution is wrapped), opens like an attribution.
    """
    verb_at_end = bool(_ATTRIBUTION_END.search(lines[i].strip()))
    for back in (2, 1, 0):
        j = i - back
        if j < 0 or not _ATTRIBUTION_START.match(lines[j].strip()):
            continue
        if not all(lines[k].strip() for k in range(j, i + 1)):
            continue
        joined = " ".join(line.strip() for line in lines[j : i + 1])
        if verb_at_end or _WROTE_INSIDE.search(joined):
            return j
    return i if verb_at_end else None


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _drop_footers(lines: list[str]) -> list[str]:
    kept: list[str] = []
    for line in lines:
        if _SIGNATURE.match(line):
            break
        if _FOOTER.match(line):
            continue
        kept.append(line)
    return kept


def _tidy(lines: list[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def new_text(body: str) -> str:
    """The text the sender wrote in this message, without quoted history or footers.

    >>> new_text("Yes, Thursday works.\\n\\nOn Tue, 3 Mar 2026, Alice <a@x.test> wrote:\\n> Hi")
    'Yes, Thursday works.'
    """
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:MAX_LINES]
    start = _history_start(lines)
    if start is not None:
        above = [line for line in lines[:start] if not _is_quoted(line)]
        if any(line.strip() for line in above):
            lines = above
        else:
            # Bottom-posted: skip the marker and the quoted block, keep what follows.
            rest = lines[start + 1 :]
            lines = [line for line in rest if not _is_quoted(line)]
            again = _history_start(lines)
            if again is not None and any(line.strip() for line in lines[:again]):
                lines = lines[:again]
    else:
        lines = [line for line in lines if not _is_quoted(line)]
    return _tidy(_drop_footers(lines))
