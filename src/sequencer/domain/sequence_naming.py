"""A name and a description for a sequence published without a name: the rules, pure.

The model is shown the sequence's emails as plain text (bounded: the first few emails,
each cut short) and asked for two lines, ``Title: ...`` and ``Description: ...``. Its
answer is judged before it is used: a title is one short line (at most
:data:`MAX_TITLE_CHARS`), with no quotation marks, no placeholder (``{{ name }}``,
``[Company]``, ``XXX``, ``...``) and no trailing period; a description is one sentence
of at most :data:`MAX_DESCRIPTION_CHARS`. A description that fails is dropped; a title
that fails fails the answer.

When no model answers usably, :func:`fallback_title` names the sequence after its
first subject, cleaned by the same rules. The author renames it whenever they like.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sequencer.domain.chat import ChatMessage, GenerationRequest
from sequencer.domain.text import html_to_text

MAX_TITLE_CHARS = 60
MAX_DESCRIPTION_CHARS = 200
# What the model is shown: enough to tell what the sequence is about, and a prompt small
# enough for the built-in model's context and speed, whatever the sequence holds.
MAX_STEPS_SHOWN = 5
MAX_SUBJECT_CHARS = 150
MAX_BODY_CHARS = 400
# Two short lines; a model that rambles is cut off and judged on what it wrote.
MAX_ANSWER_TOKENS = 80

SYSTEM = (
    "You name email sequences. Answer with exactly two lines and nothing else:\n"
    "Title: a title of at most six words\n"
    "Description: one sentence of at most 25 words saying what the emails are for\n"
    "Use no quotation marks and no placeholders."
)

# Liquid tags in subjects and bodies: ``{{ person.first_name }}``, ``{% if ... %}``.
_LIQUID = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
# Text that stands for something to be filled in, never a finished name.
_PLACEHOLDER = re.compile(
    r"[{}\[\]<>]|\.\.\.|…|\bX{2,}\b|\blorem ipsum\b|\b(your|company|product) name\b",
    re.IGNORECASE,
)
_QUOTES = '"“”„«»`'
_WRAPPING = _QUOTES + "'\u2018\u2019*_#"
_LABEL = re.compile(
    r"^\W*(title|name|description|summary)\W*?\s*[:\-\u2013\u2014]\s*", re.IGNORECASE
)
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+\S")
_SPACE = re.compile(r"\s+")
_BEFORE_PUNCTUATION = re.compile(r"\s+([,.;:!?])")


@dataclass(frozen=True)
class StepText:
    """One email of the sequence as written: its subject and its HTML body."""

    subject: str
    body_html: str


@dataclass(frozen=True)
class Naming:
    title: str
    description: str = ""


def _one_line(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _plain(text: str) -> str:
    # A variable taken out leaves no gap before the punctuation after it ("Hi ,").
    return _BEFORE_PUNCTUATION.sub(r"\1", _one_line(_LIQUID.sub(" ", text)))


def _cut(text: str, limit: int) -> str:
    """``text`` at most ``limit`` characters long, cut at a word boundary when one is near."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space >= limit // 2 else cut).rstrip()


def build_request(steps: Sequence[StepText], *, attempt: int = 0) -> GenerationRequest:
    """The messages that ask for a name; each ``attempt`` gets its own seed."""
    shown = []
    for number, step in enumerate(steps[:MAX_STEPS_SHOWN], start=1):
        subject = _cut(_plain(step.subject), MAX_SUBJECT_CHARS)
        body = _cut(
            _plain(html_to_text(step.body_html, links=False, max_chars=MAX_BODY_CHARS * 4)),
            MAX_BODY_CHARS,
        )
        shown.append(f"Email {number}\nSubject: {subject}\n{body}")
    emails = "\n\n".join(shown) or "(no emails)"
    return GenerationRequest(
        messages=(
            ChatMessage("system", SYSTEM),
            ChatMessage("user", f"The emails of the sequence, in order:\n\n{emails}"),
        ),
        max_tokens=MAX_ANSWER_TOKENS,
        temperature=0.3 if attempt == 0 else 0.7,
        seed=attempt,
    )


def _unwrapped(text: str) -> str:
    text = _one_line(text)
    while text and (text[0] in _WRAPPING or text[-1] in _WRAPPING):
        text = text.strip(_WRAPPING).strip()
    return text


def title_problem(title: str) -> str | None:
    """Why ``title`` cannot name a sequence, or None."""
    if not title or not any(c.isalnum() for c in title):
        return "the title is empty"
    if len(title) > MAX_TITLE_CHARS:
        return f"the title is longer than {MAX_TITLE_CHARS} characters"
    if title != _one_line(title):
        return "the title is not one line"
    if any(q in title for q in _QUOTES):
        return "the title has quotation marks"
    if _PLACEHOLDER.search(title):
        return "the title has a placeholder"
    if title.endswith("."):
        return "the title ends with a period"
    if title.casefold() in ("untitled sequence", "untitled", "title"):
        return "the title is no name"
    return None


def description_problem(description: str) -> str | None:
    """Why ``description`` cannot describe a sequence, or None ("" describes nothing)."""
    if not description:
        return None
    if len(description) > MAX_DESCRIPTION_CHARS:
        return f"the description is longer than {MAX_DESCRIPTION_CHARS} characters"
    if description != _one_line(description):
        return "the description is not one line"
    if _SENTENCE_END.search(description):
        return "the description is more than one sentence"
    if any(q in description for q in _QUOTES) or _PLACEHOLDER.search(description):
        return "the description has quotation marks or a placeholder"
    return None


def _clean_title(raw: str) -> str:
    return _unwrapped(raw).rstrip(". ").rstrip()


def _clean_description(raw: str) -> str:
    text = _unwrapped(raw)
    if not any(c.isalnum() for c in text):
        return ""
    if text[-1].isalnum():
        text += "."
    return text


def judge(raw: str) -> Naming | None:
    """The name in the model's answer ``raw``, or None when it gave no usable title."""
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    title = description = None
    for line in lines:
        label = _LABEL.match(line)
        if label is None:
            continue
        kind = label.group(1).lower()
        value = line[label.end() :]
        if kind in ("title", "name") and title is None:
            title = value
        elif kind in ("description", "summary") and description is None:
            description = value
    if title is None:
        # A model that skipped the labels: its first line is the title, its second the
        # description.
        unlabelled = [line for line in lines if _LABEL.match(line) is None]
        title = unlabelled[0] if unlabelled else ""
        if description is None and len(unlabelled) > 1:
            description = unlabelled[1]
    cleaned = _clean_title(title)
    if title_problem(cleaned):
        return None
    described = _clean_description(description or "")
    return Naming(cleaned, described if description_problem(described) is None else "")


def fallback_title(steps: Sequence[StepText]) -> str:
    """A title from the first subject, held to the title rules; "" when none can be made."""
    subject = next((s.subject for s in steps if _plain(s.subject)), "")
    text = _PLACEHOLDER.sub(" ", _plain(subject))
    text = _one_line("".join(" " if c in _QUOTES else c for c in text))
    text = (
        _cut(text.strip(" ,;:-\u2013\u2014|/"), MAX_TITLE_CHARS)
        .rstrip(" ,;:-\u2013\u2014|/.")
        .rstrip()
    )
    return text if title_problem(text) is None else ""


def fallback(steps: Sequence[StepText]) -> Naming:
    return Naming(fallback_title(steps))
