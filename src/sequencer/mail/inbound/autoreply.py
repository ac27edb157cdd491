"""Telling automatic mail (out-of-office, auto-acknowledgements) and list mail apart
from what a person wrote.

**Strong evidence of an auto-reply** (the message is an ``auto_reply`` whatever else it
carries):

- ``Auto-Submitted: auto-replied`` (RFC 3834), as Gmail's vacation responder sends;
- ``X-Autoreply``, ``X-Autorespond`` or ``X-Autoresponder`` present (any value but no);
- ``Precedence`` or ``X-Precedence: auto_reply``;
- a subject that starts like an automatic reply in one of the common languages:
  "Automatic reply:", "Auto Response", "Out of Office", "Abwesenheitsnotiz",
  "Automatische Antwort", "Réponse automatique", "Respuesta automática",
  "Risposta automatica", "Automatisch antwoord", "Afwezig"… (Exchange often sets no
  header at all, so this is its only sign).

**List markers**: ``List-Id``, ``List-Unsubscribe``, ``Feedback-ID`` or ``Precedence:
list`` mark a newsletter, notification or mailing-list post: ``other``.

**Weak evidence** (an ``auto_reply`` only when no list marker is present):
``Auto-Submitted`` with any other value but ``no`` (``auto-generated``…),
``Precedence: bulk|junk``, and an empty ``Return-Path: <>``.

``X-Auto-Response-Suppress`` asks *others* not to auto-respond to a message; it says
nothing about the message itself and is not evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sequencer.mail.inbound import mime

_AUTO_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]{0,40}\]\s*)?(?:"
    # English
    r"automatic\s+reply|auto(?:matic)?[\s-]?(?:reply|response|respond(?:er)?)|autoreply|"
    r"out\s+of\s+(?:the\s+)?office|ooo\b|away\s+from\s+(?:the\s+)?office|on\s+vacation|"
    r"on\s+leave\b|"
    # German
    r"abwesenheitsnotiz|abwesenheitsnachricht|automatische\s+antwort|autom\.\s*antwort|"
    r"abwesend|au(?:ss|ß)er\s+haus|nicht\s+im\s+b[üu]ro|"
    # French
    r"r[ée]ponse\s+automatique|absent(?:e)?\s+du\s+bureau|message\s+d'absence|"
    r"absence\s+du\s+bureau|"
    # Spanish
    r"respuesta\s+autom[áa]tica|fuera\s+de\s+(?:la\s+)?oficina|ausente\b|"
    # Italian
    r"risposta\s+automatica|fuori\s+(?:sede|ufficio)|"
    # Dutch
    r"automatisch\s+antwoord|afwezig|niet\s+aanwezig|"
    # Portuguese, Scandinavian, Finnish, Polish, Czech
    r"resposta\s+autom[áa]tica|aus[êe]ncia|automatiskt\s+svar|automatisk\s+svar|autosvar|"
    r"fr[åa]nvarande|automaattinen\s+vastaus|automatyczna\s+odpowied[źz]|"
    r"automatick[áa]\s+odpov[ěe][ďd]"
    r")",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Evidence:
    """What the headers and subject say about how a message was written.

    ``strong`` and ``weak`` list the auto-reply evidence found (names such as
    ``"header:auto-submitted"``); ``listed`` lists the list markers found.
    """

    strong: tuple[str, ...]
    weak: tuple[str, ...]
    listed: tuple[str, ...]

    @property
    def is_auto_reply(self) -> bool:
        return bool(self.strong) or (bool(self.weak) and not self.listed)

    @property
    def is_list_mail(self) -> bool:
        return bool(self.listed) and not self.strong


def _first_word(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def auto_subject(subject: str) -> bool:
    """Whether ``subject`` starts like an automatic reply's (see the module)."""
    return bool(_AUTO_SUBJECT.match(subject[:300]))


def evidence(msg: mime.Parsed, subject: str) -> Evidence:
    """The auto-reply and list evidence in ``msg``'s headers and ``subject``."""
    strong: list[str] = []
    weak: list[str] = []
    listed: list[str] = []

    auto_submitted = _first_word(msg.header("Auto-Submitted"))
    if auto_submitted == "auto-replied":
        strong.append("header:auto-submitted")
    elif auto_submitted and auto_submitted != "no":
        weak.append("header:auto-submitted")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if msg.has(name) and _first_word(msg.header(name)) != "no":
            strong.append(f"header:{name.lower()}")
    for name in ("Precedence", "X-Precedence"):
        precedence = _first_word(msg.header(name))
        if precedence in ("auto_reply", "auto-reply"):
            strong.append(f"header:{name.lower()}")
        elif precedence in ("bulk", "junk"):
            weak.append(f"header:{name.lower()}")
        elif precedence == "list":
            listed.append(f"header:{name.lower()}")
    if auto_subject(subject):
        strong.append("subject:auto-reply")
    if msg.has("Return-Path") and msg.header("Return-Path").strip() == "<>":
        weak.append("header:return-path")
    for name in ("List-Id", "List-Unsubscribe", "Feedback-ID", "List-Post"):
        if msg.has(name):
            listed.append(f"header:{name.lower()}")
    return Evidence(tuple(strong), tuple(weak), tuple(listed))
