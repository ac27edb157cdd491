"""A Liquid lexer that costs linear time in the template's length.

python-liquid splits a template with one regular expression whose alternatives scan
ahead for a closing ``}}``, ``%}`` or ``{% endraw %}``. When the closer is missing the
scan fails at the end of the text and starts again one character later, so a body made
of ``{{`` costs time quadratic in its length (32 KB took over a minute).

This module finds the same pieces by scanning forward only: each closer is searched for
once from where it could start, and a failed search is remembered, because a closer
missing after one position is missing after every later one. The pieces are handed to
python-liquid's own token builder (comments, whitespace control and its error messages
stay exactly as they are) as objects that answer like the regular expression's matches.
A property test checks that both lexers produce the same tokens.

Inside ``{{ }}`` and ``{% %}`` python-liquid reads the expression with a second regular
expression, which scans ahead from every ``(`` for a range's ``..`` and from every
``["`` for its closing ``"]``. That cost is measured first, in one forward pass, and an
expression that would cost more than :data:`EXPRESSION_WORK_PER_CHAR` times its length
is refused as too complex (no template a person writes comes close).

:func:`markup_spans` is the same forward scan for code that only needs to know where
each ``{{ ... }}`` and ``{% ... %}`` is (the HTML sanitiser).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

from liquid.exceptions import LiquidSyntaxError
from liquid.lex import _tokenize_template
from liquid.token import TOKEN_CONTENT, TOKEN_EXPRESSION, TOKEN_OUTPUT, Token

_OPENER = re.compile(r"\{[{%]")
# The part of a tag before its expression: optional '-', blanks, then the name. Each of
# these is matched once, anchored at one opener, and its blanks belong to that opener.
_TAG_HEAD = re.compile(r"\{%(-?)\s*(#|\w+)")
_BLOCK_HEAD = re.compile(r"\{%-?\s*(raw|doc)\s*(-?)%\}")
_BLOCK_END = {
    "raw": re.compile(r"\{%-?\s*endraw\s*(-?)%\}"),
    "doc": re.compile(r"\{%-?\s*enddoc\s*(-?)%\}"),
}
_BLOCK_KIND = {"raw": ("RAW", "raw", "rsr"), "doc": ("DOC", "doc", "lsd")}


@dataclass
class Piece:
    """One piece of a template, answering like a match of python-liquid's lexer rules."""

    lastgroup: str
    span: tuple[int, int]
    source: str
    groups: dict[str, tuple[int, int]] = field(default_factory=dict)

    def group(self, name: str | int = 0) -> str:
        if name == 0:
            start, end = self.span
        else:
            assert isinstance(name, str)
            start, end = self.groups.get(name, (0, 0))
        return self.source[start:end]

    def start(self, name: str | int = 0) -> int:
        return self.span[0] if name == 0 else self.groups[str(name)][0]

    def end(self, name: str | int = 0) -> int:
        return self.span[1] if name == 0 else self.groups[str(name)][1]


class _Scanner:
    """Finds closers; a search that failed once is never repeated."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._missing: dict[object, int] = {}
        # Characters the searches for closers covered: the lexer's work beyond one pass.
        self.searched = 0

    def find(self, key: object, start: int, search: Callable[[int], int]) -> int:
        """``search(start)``, or -1 at once when it already failed from an earlier start."""
        missing_from = self._missing.get(key)
        if missing_from is not None and start >= missing_from:
            return -1
        found = search(start)
        self.searched += (found if found >= 0 else len(self.source)) - start
        if found < 0:
            self._missing[key] = start
        return found


def _output(scan: _Scanner, at: int) -> Piece | None:
    """``{{-? expr -?}}`` at ``at``: the expression runs to the first ``}}``."""
    source = scan.source
    inner = at + 2
    if source.startswith("-", inner):
        inner += 1
    close = scan.find("}}", inner, partial(source.find, "}}"))
    if close < 0:
        return None
    trim = close - 1 >= inner and source[close - 1] == "-"
    end = close - 1 if trim else close
    groups = {"rss": (end, close)}
    groups["stmt"] = _stripped(source, inner, end)
    return Piece(TOKEN_OUTPUT, (at, close + 2), source, groups)


def _tag(scan: _Scanner, at: int) -> Piece | None:
    """``{%-? name expr -?%}`` at ``at``: the expression runs to the first ``%}``."""
    source = scan.source
    head = _TAG_HEAD.match(source, at)
    if head is None:
        return None
    name_end = head.end(2)
    close = scan.find("%}", name_end, partial(source.find, "%}"))
    if close < 0:
        return None
    trim = close - 1 >= name_end and source[close - 1] == "-"
    end = close - 1 if trim else close
    groups = {"name": head.span(2), "rst": (end, close)}
    groups["expr"] = _stripped(source, name_end, end)
    return Piece("TAG", (at, close + 2), source, groups)


def _block(scan: _Scanner, at: int) -> Piece | None:
    """``{% raw %}...{% endraw %}`` or ``{% doc %}...{% enddoc %}``: kept verbatim."""
    source = scan.source
    head = _BLOCK_HEAD.match(source, at)
    if head is None:
        return None
    name = head.group(1)
    pattern = _BLOCK_END[name]

    def search(start: int) -> int:
        found = pattern.search(source, start)
        return -1 if found is None else found.start()

    close = scan.find(name, head.end(), search)
    if close < 0:
        return None
    tail = pattern.match(source, close)
    assert tail is not None
    kind, body, trim = _BLOCK_KIND[name]
    groups = {body: (head.end(), close), trim: head.span(2)}
    if name == "raw":
        groups["rsr_e"] = tail.span(1)
    else:
        groups["rsd"] = tail.span(1)
    return Piece(kind, (at, tail.end()), source, groups)


def _content(scan: _Scanner, at: int) -> Piece:
    """Text up to the next opener, at least one character.

    Like python-liquid's rule, which ends text at ``$``, a final line break is a piece
    of its own (``$`` also matches just before a trailing newline).
    """
    source = scan.source
    length = len(source)
    found = _OPENER.search(source, at + 1)
    end = found.start() if found else length
    if source.endswith("\n") and at < length - 1 < end:
        end = length - 1
    groups: dict[str, tuple[int, int]] = {}
    if found is not None and end == found.start():
        dash = end + 2
        groups["rstrip"] = (dash, dash + 1) if source.startswith("-", dash) else (dash, dash)
    else:
        groups["rstrip"] = (end, end)
    return Piece(TOKEN_CONTENT, (at, end), source, groups)


def _stripped(source: str, start: int, end: int) -> tuple[int, int]:
    """The span of ``source[start:end]`` without surrounding blanks, as the rules find it."""
    text = source[start:end]
    inner = text.strip()
    if not inner:
        # An empty expression sits right after the opener (what the regex settles on).
        return (start, start)
    first = start + (len(text) - len(text.lstrip()))
    return (first, first + len(inner))


def pieces(source: str, scan: _Scanner | None = None) -> Iterator[Piece]:
    """Every piece of ``source`` in order, the way python-liquid's rules split it."""
    scan = scan or _Scanner(source)
    at = 0
    length = len(source)
    while at < length:
        piece: Piece | None = None
        if source.startswith("{%", at):
            piece = _block(scan, at) or _tag(scan, at)
        elif source.startswith("{{", at):
            piece = _output(scan, at)
        if piece is None:
            piece = _content(scan, at)
        yield piece
        at = piece.span[1]


def lexing_work(source: str) -> int:
    """Characters examined to split ``source``: one pass plus every search for a closer.

    Tests and the benchmark use it to show the work grows linearly with the length.
    """
    scan = _Scanner(source)
    count = sum(1 for _ in pieces(source, scan))
    return len(source) + count + scan.searched


class _Rules:
    """Stands in for python-liquid's compiled rules: ``finditer`` is all it asks for."""

    def finditer(self, source: str) -> Iterator[Piece]:
        return pieces(source)


def tokenize(source: str) -> Iterator[Token]:
    """python-liquid's tokens for ``source``, found in linear time."""
    for token in _tokenize_template(source, rules=_Rules()):  # type: ignore[arg-type]
        if token.kind == TOKEN_EXPRESSION:
            _refuse_costly(token)
        yield token


# Characters python-liquid's expression lexer may scan per character of an expression.
EXPRESSION_WORK_PER_CHAR = 32
_EXPRESSION_WORK_FLOOR = 4_096
_RANGE_OPEN = re.compile(r"\(")
_BRACKET_QUOTE = re.compile(r"\[\s*([\"'])")
_QUOTE_CLOSE = {q: re.compile(re.escape(q) + r"\s*\]") for q in "\"'"}


def expression_work(text: str) -> int:
    """Characters python-liquid's expression lexer scans ahead in ``text``, at most.

    From each ``(`` it looks for ``..`` at least two characters on; from each ``[``
    followed by a quote, for the same quote followed by ``]``. Strings are not skipped,
    so this over-counts, never under-counts. Each search here runs once per distinct
    target and is reused while it lies ahead, so this costs linear time.
    """
    work = 0
    next_range = -2  # position of the next "..", -1 when there is none
    for found in _RANGE_OPEN.finditer(text):
        start = found.start() + 2
        if next_range != -1 and next_range < start:
            next_range = text.find("..", start)
        work += (next_range if next_range != -1 else len(text)) - found.start()
    next_close = {quote: -2 for quote in _QUOTE_CLOSE}
    for found in _BRACKET_QUOTE.finditer(text):
        quote = found.group(1)
        start = found.end()
        close = next_close[quote]
        if close != -1 and close < start:
            match = _QUOTE_CLOSE[quote].search(text, start)
            close = next_close[quote] = match.start() if match else -1
        work += (close if close != -1 else len(text)) - found.start()
    return work


def _refuse_costly(token: Token) -> None:
    budget = EXPRESSION_WORK_PER_CHAR * len(token.value) + _EXPRESSION_WORK_FLOOR
    if expression_work(token.value) > budget:
        raise LiquidSyntaxError(
            "this expression is too complex to read (many '(' or '[\"' far from their "
            "'..' or '\"]'); simplify it",
            token=token,
        )


def markup_spans(text: str) -> Iterator[tuple[int, int]]:
    """Where each ``{{ ... }}`` and ``{% ... %}`` is: the first closer after each opener.

    An opener with no closer after it is text, as is everything between pieces.
    """
    scan = _Scanner(text)
    at = 0
    while True:
        found = _OPENER.search(text, at)
        if found is None:
            return
        opener = found.start()
        closer = "}}" if text[opener + 1] == "{" else "%}"
        close = scan.find(closer, opener + 2, partial(text.find, closer))
        if close < 0:
            at = opener + 1
            continue
        yield (opener, close + 2)
        at = close + 2
