"""A model's answer for one AI slot: cleaned of its wrapping, then refused or accepted.

The rules are strict on purpose. A refusal costs a retry with another seed (and after
the retries, the slot's fallback); an acceptance puts the text in front of a prospect,
under the member's name. The answers come from models as small as SmolLM2-135M, which
greet, sign off, invent placeholders and copy their examples, and from record data that
anyone filling a form controls, which can ask for a link or a message of its own.

Cleaning (nothing else is changed):

* ``\\r\\n`` and ``\\r`` become ``\\n``, tabs become spaces;
* a first line that only introduces the answer (``Sure, here is the phrase:``) is
  dropped, and so is a leading label (``Answer:``, ``Text:``, ``Here's a sentence:``);
* quotation marks of any kind around the whole text are dropped, and a lone one left
  at either end (an answer cut short), as long as no other quotation is inside;
* whitespace runs become one space: a phrase is one line, a paragraph one paragraph;
* a final full stop is dropped when the email goes on with punctuation or a
  lower-case word right after the slot ("...lights" + ". Would you...").

Refusals, each with the reason shown to the member (see :func:`review`): no text;
control or invisible characters (a zero-width or bidi character can hide a link);
several paragraphs (a model writing a whole letter, not the slot: keeping its first
paragraph would keep its greeting); longer than the shape allows; talking about the
request instead of writing the text (role labels, "as an AI", "ignore previous
instructions", the request's own block labels); links or email addresses other than
those the record holds as a value of their own; markdown or HTML; placeholders; a
greeting at the start of a line; a sign-off (a sign-off line, "Thanks, Sam", a last
sentence that is only a sign-off, the sender's name on its own, a postscript); five
words in a row from an example answer, or the example's made-up names (a small model
copies its example); the whole instruction, or six words in a row of the email text
around the slot, repeated; for a phrase, more than one sentence (a full stop after a
word that is not an abbreviation or an initial, or a ! or ?, then a capital); for a
paragraph that ends the sentence, no final punctuation (the model ran out of tokens).

Every rule reads text of bounded size (answers longer than :data:`RAW_LIMIT` are
refused before anything else) with regular expressions that cannot backtrack
catastrophically (no nested or overlapping quantifiers), so a hostile answer costs
linear time.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Far more than any phrase or paragraph plus some wrapping; beyond it nothing is read.
RAW_LIMIT = 4_000

# Unicode categories that never belong in an email's words: controls, format characters
# (zero-width, bidi overrides), surrogates, private use, unassigned, line and paragraph
# separators. "\n" is the one control allowed (it separates lines before they collapse).
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

QUOTES = frozenset(
    "\"'`\u201c\u201d\u201e\u201f\u2018\u2019\u201a\u201b\u00ab\u00bb\u2039\u203a"
    "\u300c\u300d\u300e\u300f"
)
_APOSTROPHES = frozenset("'\u2019")

# A label or chatty lead before the answer proper, on the answer's first line.
_LABEL = re.compile(
    r"(?i:(?:final answer|answer|text|output|response|result|reply|phrase|paragraph"
    r"|sentence|subject line|subject|slot|your part|assistant))[ \t]*:[ \t]*"
)
_HERE_LEAD = re.compile(
    r"(?i:(?:(?:sure|certainly|of course|okay|ok|absolutely|alright)[ \t]*[,!.]?[ \t]*)?"
    r"here(?:'s|\u2019s| is| are| you go| it is)\b)[^:\n]{0,80}:[ \t]*"
)
_LEAD_WORDS = (
    "sure",
    "certainly",
    "of course",
    "okay",
    "ok",
    "absolutely",
    "alright",
    "here",
    "answer",
    "text",
    "output",
    "response",
    "result",
)

_CHATTY_START = re.compile(
    r"(?i:sure|certainly|of course|okay|ok|absolutely|alright|as requested|as an ai"
    r"|i'm sorry|i\u2019m sorry|i am sorry|i cannot|i can't|i can\u2019t|i can not"
    r"|i'm unable|i\u2019m unable|i am unable|i won't|i will not)(?![\w'\u2019-])"
)
_HERE_IS_A_TEXT = re.compile(
    r"(?i:here(?:'s|\u2019s| is| are) (?:a|an|the|your|my|some|one|two)\b[^.\n]{0,40}?"
    r"\b(?:phrase|sentence|paragraph|text|version|option|line|answer|draft|email)s?\b)"
)
# A role label: anywhere for the roles only a chat prompt has, at a line's start for
# words an email could use ("our user: ...").
_ROLE_LINE = re.compile(
    r"(?i:(?<![a-z])(?:system|assistant|instructions?|prompt)[ \t]*:)"
    r"|(?im:^[ \t]*(?:user|human|ai|bot|note)[ \t]*:)"
)
_INJECTION = re.compile(
    r"(?i:\bignore (?:all |any |the |my |your |these |those )?"
    r"(?:previous |prior |above |earlier |preceding |other |former )?"
    r"(?:instructions?|prompts?|rules|messages?|directions)\b"
    r"|\bsystem prompt\b|\bsystem message\b|\bas an ai\b|\blanguage model\b"
    r"|\bi am an ai\b|\bi'm an ai\b|\bnew instructions?\b|\bdeveloper mode\b)"
)
# The request's own words (see ai_slot): an answer holding them is echoing the request.
REQUEST_LABELS = (
    "recipient record",
    "email text before",
    "email text after",
    "your part",
    "not instructions",
    "instruction:",
)

_MARKUP = re.compile(
    r"`|\*\*|__|~~|\]\(|\*\w|\w\*"
    r"|&(?:[A-Za-z]{2,8}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});"
    r"|(?m:^[ \t]*(?:#{1,6}[ \t]|>|[-*+\u2022][ \t]|\d{1,3}[.)][ \t]))"
)
_TAG = re.compile(r"<[A-Za-z/!?|%]")
_PLACEHOLDER = re.compile(
    r"[\[\]{}]|\b[Xx]{3,}\b|_{3,}|%[A-Za-z_]+%|\*\||\|\*|\$\{|(?i:\blorem ipsum\b)"
    r"|\b(?:Your|Company|First|Last|Full|Recipient|Sender|Contact|Job|Product|Prospect"
    r"|Client)[ \t](?:Name|Company|Title|Email|Phone|Position|Role)\b"
)

_GREETING = re.compile(
    r"(?i:hi|hello|hey|heya|hiya|dear|greetings|good (?:morning|afternoon|evening|day)"
    r"|howdy|hallo|hola|bonjour)(?![\w'\u2019-])"
)
_SIGN_OFFS = "|".join(
    sorted(
        (
            "best",
            "best regards",
            "best wishes",
            "all the best",
            "regards",
            "kind regards",
            "kindest regards",
            "warm regards",
            "warmest regards",
            "warmly",
            "warm wishes",
            "many thanks",
            "thanks",
            "thanks again",
            "thanks so much",
            "thank you",
            "thank you again",
            "thank you so much",
            "cheers",
            "sincerely",
            "yours sincerely",
            "sincerely yours",
            "yours truly",
            "yours faithfully",
            "yours",
            "talk soon",
            "speak soon",
            "take care",
            "respectfully",
            "cordially",
            "with gratitude",
            "with thanks",
        ),
        key=len,
        reverse=True,
    )
)
# A capitalised name of up to three words, as signed under a sign-off.
_NAME = r"[A-Z][\w'\u2019.-]{0,30}(?: [A-Z][\w'\u2019.-]{0,30}){0,2}"
_SIGN_OFF_LINE = re.compile(rf"(?i:{_SIGN_OFFS})[ \t]*[,.!]{{0,3}}[ \t]*")
_SIGN_OFF_NAMED = re.compile(rf"(?i:{_SIGN_OFFS})[ \t]*[,!\u2013\u2014-]{{1,3}}[ \t]*{_NAME}[.!]?")
# At the end of the collapsed text: a sign-off opening the last sentence, maybe signed.
_SIGN_OFF_END = re.compile(
    rf"(?:^|[.!?] )(?i:{_SIGN_OFFS}) ?[,.!\u2013\u2014-]{{0,3}}(?: ?{_NAME})?[.!]?$"
)
_POSTSCRIPT = re.compile(r"(?im:^[ \t]*p\.? ?s\.?(?![\w]))")
_SIGNATURE_DASH = re.compile(rf"(?:^|[.!?] ?)(?:--|\u2013|\u2014|-) ?{_NAME}$")

# Two sentences: a word and a full stop, or a ! or ?, then a capital. The word must not
# be an abbreviation ("Mr.", "Inc.") or an initial ("J. Smith"); starting only at a word's
# start keeps the search linear.
_SENTENCE_BREAK = re.compile(
    r"(?<!\w)(\w+)\.[\"\u201d\u2019)]? [\"\u201c\u2018(]?[A-Z]"
    r"|[!?][\"\u201d\u2019)]? [\"\u201c\u2018(]?[A-Z]"
)
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "jr",
        "sr",
        "inc",
        "ltd",
        "llc",
        "co",
        "corp",
        "plc",
        "gmbh",
        "vs",
        "etc",
        "no",
        "dept",
        "univ",
        "ave",
        "blvd",
        "mt",
        "ft",
        "gen",
        "gov",
        "sen",
        "rep",
        "est",
        "approx",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
_FINAL_PUNCTUATION = frozenset(".!?\u2026")
_CLOSERS = frozenset("\"')]\u201d\u2019\u00bb")
_CONTINUATION = frozenset(",.;:!?)\u2026-\u2013\u2014")
_TOKEN_EDGES = "\"'`()[]{}<>.,;:!?\u201c\u201d\u2018\u2019\u00ab\u00bb*_"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class AnswerContext:
    """What the answer is judged against (already bounded by :mod:`ai_slot`)."""

    phrase: bool
    max_chars: int
    prompt: str = ""
    before: str = ""
    after: str = ""
    sender_name: str = ""
    record_values: tuple[str, ...] = ()
    example_names: frozenset[str] = frozenset()
    example_answers: tuple[str, ...] = ()


def review(raw: str, context: AnswerContext) -> tuple[str | None, str | None]:
    """``(text, None)`` when ``raw`` is usable in the slot, else ``(None, reason)``."""
    shape = "phrase" if context.phrase else "paragraph"
    if len(raw) > RAW_LIMIT:
        return None, f"the text is far longer than a {shape} ({context.max_chars} characters)"
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    hidden = _first_invisible(text)
    if hidden is not None:
        return None, f"the text has a control or invisible character (U+{ord(hidden):04X})"
    text = _unwrap(text)
    if not text:
        return None, "the model wrote nothing"
    if _has_blank_line(text):
        return None, f"the text has several paragraphs; the slot holds one {shape}"
    flat = " ".join(text.split())
    if len(flat) > context.max_chars:
        return None, (
            f"the text is {len(flat)} characters long; a {shape} holds at most {context.max_chars}"
        )
    if not any(char.isalnum() for char in flat):
        return None, "the text has no words"
    for rule in _RULES:
        problem = rule(text, flat, context)
        if problem is not None:
            return None, problem
    return _fit_to_after(flat, context.after), None


def _first_invisible(text: str) -> str | None:
    for char in text:
        if char != "\n" and unicodedata.category(char) in _INVISIBLE:
            return char
    return None


# -- cleaning ----------------------------------------------------------------------------


def _unwrap(text: str) -> str:
    """``text`` without leading labels and surrounding quotes (a few layers at most)."""
    text = text.strip()
    for _ in range(3):
        before = text
        text = _unquote(_drop_label(text)).strip()
        if text == before:
            break
    return text


def _drop_label(text: str) -> str:
    first, newline, rest = text.partition("\n")
    lead = first.strip()
    if (
        newline
        and lead.endswith(":")
        and len(lead) <= 100
        and lead.casefold().startswith(_LEAD_WORDS)
    ):
        return rest.strip()
    for pattern in (_HERE_LEAD, _LABEL):
        found = pattern.match(text)
        if found:
            return text[found.end() :].strip()
    return text


def _unquote(text: str) -> str:
    """``text`` without the quotation marks around it, unless others are inside."""
    start, end = 0, len(text)
    if end and text[0] in QUOTES:
        start = 1
    if end > start and text[-1] in QUOTES:
        end -= 1
    if (start, end) == (0, len(text)):
        return text
    inner = text[start:end]
    return text if _has_quotes(inner) else inner


def _has_quotes(text: str) -> bool:
    for index, char in enumerate(text):
        if char not in QUOTES:
            continue
        between_letters = (
            char in _APOSTROPHES
            and 0 < index < len(text) - 1
            and text[index - 1].isalnum()
            and text[index + 1].isalnum()
        )
        if not between_letters:
            return True
    return False


def _has_blank_line(text: str) -> bool:
    seen_text = blank = False
    for line in text.split("\n"):
        if not line.strip():
            blank = seen_text
        elif blank:
            return True
        else:
            seen_text = True
    return False


def _fit_to_after(text: str, after: str) -> str:
    follow = after.lstrip()[:1]
    ending = text.endswith(".") and not text.endswith("..")
    if ending and follow and (follow in _CONTINUATION or follow.islower()):
        return text[:-1].rstrip()
    return text


# -- refusals ----------------------------------------------------------------------------


def _talks_about_the_request(text: str, flat: str, context: AnswerContext) -> str | None:
    if _CHATTY_START.match(flat) or _HERE_IS_A_TEXT.match(flat):
        return "the model talked about the request instead of writing the text"
    if _ROLE_LINE.search(text) or _INJECTION.search(flat):
        return "the text speaks as the system or about instructions (injected text?)"
    folded = flat.casefold()
    if any(label in folded for label in REQUEST_LABELS):
        return "the text repeats the request instead of answering it"
    return None


def _foreign_links(text: str, flat: str, context: AnswerContext) -> str | None:
    allowed = allowed_links(context.record_values)
    for token in flat.split(" "):
        key = link_key(token)
        if key is not None and key not in allowed:
            shown = token.strip(_TOKEN_EDGES)[:60]
            return (
                f"the text has a link or address ({shown}) that is not a value of the "
                "recipient's record"
            )
    return None


def _markup(text: str, flat: str, context: AnswerContext) -> str | None:
    if _TAG.search(text):
        return "the text has HTML or a placeholder in angle brackets"
    if _MARKUP.search(text):
        return "the text has markdown formatting; the slot takes plain words"
    return None


def _placeholder(text: str, flat: str, context: AnswerContext) -> str | None:
    found = _PLACEHOLDER.search(flat)
    if found is None:
        return None
    shown = found.group(0)
    if shown in "[{":
        closing = flat.find("]" if shown == "[" else "}", found.start(), found.start() + 40)
        shown = flat[found.start() : closing + 1] if closing > 0 else shown
    return f"the text has a placeholder ({shown}) instead of real words"


def _greeting(text: str, flat: str, context: AnswerContext) -> str | None:
    for line in text.split("\n"):
        if _GREETING.match(line.strip()):
            return "the text starts with a greeting; the email already has its own"
    return None


def _sign_off(text: str, flat: str, context: AnswerContext) -> str | None:
    reason = "the text has a sign-off; the email already has its own"
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    for line in lines:
        if _SIGN_OFF_LINE.fullmatch(line) or _SIGN_OFF_NAMED.fullmatch(line):
            return reason
    if _POSTSCRIPT.search(text):
        return "the text adds a postscript; the slot is not the end of the email"
    tail = flat[-120:]
    if _SIGN_OFF_END.search(flat) or _SIGNATURE_DASH.search(flat):
        return reason
    sender = " ".join(context.sender_name.split()).casefold()
    if sender:
        names = {sender, sender.split(" ")[0]}
        last = lines[-1].strip("-\u2013\u2014~ ").casefold()
        if len(lines) > 1 and last in names:
            return reason
        ending = tail.casefold().rstrip(".! ")
        if any(ending.endswith(f"{mark} {name}") for name in names for mark in "-,\u2013\u2014"):
            return reason
    return None


def _copies_an_example(text: str, flat: str, context: AnswerContext) -> str | None:
    reason = "the text copies the prompt's example instead of using this recipient's data"
    said = f" {' '.join(_WORD.findall(flat.casefold()))} "
    for answer in context.example_answers:
        words = _WORD.findall(answer.casefold())
        # Five words in a row from an example answer: copied, not written.
        if any(f" {' '.join(words[i : i + 5])} " in said for i in range(len(words) - 4)):
            return reason
    copied = set(said.split()) & context.example_names
    if not copied:
        return None
    known = " ".join(
        (*context.record_values, context.prompt, context.before, context.after)
    ).casefold()
    if copied - set(_WORD.findall(known)):
        return reason
    return None


def _repeats(text: str, flat: str, context: AnswerContext) -> str | None:
    said = f" {' '.join(_WORD.findall(flat.casefold()))} "
    prompt = _WORD.findall(context.prompt.casefold())
    if len(prompt) >= 5 and f" {' '.join(prompt)} " in said:
        return "the text repeats the instruction instead of following it"
    before = _WORD.findall(context.before.casefold())[-6:]
    after = _WORD.findall(context.after.casefold())[:6]
    for words in (before, after):
        if len(words) == 6 and f" {' '.join(words)} " in said:
            return "the text repeats the email text around the slot"
    return None


def _sentences(text: str, flat: str, context: AnswerContext) -> str | None:
    if context.phrase:
        for found in _SENTENCE_BREAK.finditer(flat):
            word = found.group(1)
            if word is None or (len(word) > 1 and word.casefold() not in _ABBREVIATIONS):
                return "the text has more than one sentence; the slot holds a phrase"
        return None
    last = flat.rstrip("".join(_CLOSERS))[-1:]
    ends_sentence = last in _FINAL_PUNCTUATION or unicodedata.category(last or " ") == "So"
    if not ends_sentence and not _continues(context.after):
        return "the text stops mid-sentence (the model may have run out of room)"
    return None


def _continues(after: str) -> bool:
    """Whether the email goes on with the same sentence right after the slot."""
    follow = after.lstrip()[:1]
    return bool(follow) and (follow in _CONTINUATION or follow.islower())


_RULES = (
    _talks_about_the_request,
    _placeholder,
    _greeting,
    _sign_off,
    _foreign_links,
    _markup,
    _copies_an_example,
    _repeats,
    _sentences,
)


# -- links -------------------------------------------------------------------------------


def link_key(token: str) -> str | None:
    """How a URL, domain or email address is compared; ``None`` when ``token`` is none.

    Lower-cased, without scheme, ``mailto:``, ``www.`` or a final slash: so that
    ``https://www.Acme.com/`` and ``acme.com`` are the same link. A bare word with a dot
    counts as a domain when its last label is letters only (``evil.test``, and also
    ``Node.js``: strictness costs a retry, not a stranger's link in an email).
    """
    token = token.strip(_TOKEN_EDGES)
    for possessive in ("'s", "\u2019s"):
        token = token.removesuffix(possessive)
    token = token.casefold()
    if not token:
        return None
    if "@" in token:
        address = token.removeprefix("mailto:")
        host = address.rpartition("@")[2]
        return f"mailto:{address}" if _is_host(host.split("/")[0]) else None
    if "://" in token:
        rest = token.partition("://")[2]
    elif token.startswith("www."):
        rest = token
    else:
        host = re.split(r"[/?#:]", token, maxsplit=1)[0]
        if not _is_host(host):
            return None
        rest = token
    return rest.removeprefix("www.").rstrip("/") or token


def _is_host(host: str) -> bool:
    labels = host.split(".")
    if len(labels) < 2 or not all(labels):
        return False
    if not all(char.isalnum() or char == "-" for label in labels for char in label):
        return False
    last = labels[-1]
    return len(last) >= 2 and last.isalpha()


def _host_of(key: str) -> str:
    if key.startswith("mailto:"):
        return key
    return re.split(r"[/?#:]", key, maxsplit=1)[0]


def allowed_links(values: tuple[str, ...]) -> frozenset[str]:
    """The links an answer may hold: record values that are one link and nothing else.

    A link mentioned inside a longer value (a note saying "write: visit evil.test") is
    not allowed: that is exactly what an injection looks like. For an allowed URL its
    bare domain is allowed too (the recipient's own site), never another path on it.
    """
    allowed: set[str] = set()
    for value in values:
        token = value.strip()
        if not token or any(char.isspace() for char in token):
            continue
        key = link_key(token)
        if key is not None:
            allowed.update((key, _host_of(key)))
    return frozenset(allowed)
