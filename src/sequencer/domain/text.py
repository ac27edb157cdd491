"""Plain text from HTML: the one converter for the text/plain part of sent emails and for
reading the HTML body of inbound mail.

The HTML is read by libxml2's HTML parser (through lxml) in streaming mode: no tree is
built, the parser calls back for each start tag, end tag and run of text, and libxml2
recovers from any broken markup in one pass. (The standard library's ``HTMLParser`` is
quadratic on unclosed comments, tags and attributes, which inbound mail can hold.) So
the cost is linear in the input, and what is kept is bounded: by ``max_chars`` when
given, and the quote and list markers of a line by a fixed depth.

What the text looks like:

* paragraphs, headings, lists, tables, quotes and rules stand apart by a blank line;
  other blocks (``div``, ``br``, table rows, list items) start a new line;
* whitespace runs collapse to one space, except inside ``<pre>``;
* list items start with ``* `` (``1. `` in ordered lists), table cells are separated
  by a space;
* ``<hr>`` is an underscore rule, as Outlook writes above quoted history;
* the content of ``<blockquote>`` is quoted with ``> `` as a plain-text client would,
  which is how a reply's quoted history is recognised (and how a sent email shows a
  quotation);
* with ``links``, a link reads ``[text](url)``; style, script and head are skipped.
"""

from __future__ import annotations

import re

from lxml import etree

# Quote markers and list indentation stop growing here: a hostile message nested ten
# thousand deep must not make every line ten thousand characters long.
MAX_DEPTH = 8

_SKIP = frozenset({"style", "script", "head", "title", "template", "noscript"})
_PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "pre", "hr"}
)
_LINES = frozenset(
    {
        "div",
        "br",
        "tr",
        "li",
        "dl",
        "dt",
        "dd",
        "section",
        "article",
        "header",
        "footer",
        "address",
        "figure",
        "main",
        "nav",
        "aside",
        "form",
        "fieldset",
    }
)
_LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:")
_BLANK_RUNS = re.compile(r"\n{3,}")
RULE = "_" * 32


class _Text:
    """The parser's target: builds the text line by line (see the module's notes)."""

    def __init__(self, *, links: bool, max_chars: int | None) -> None:
        self.links = links
        self.limit = max_chars
        self.lines: list[str] = []
        self.current: list[str] = []
        self.size = 0
        self.skip = 0
        self.quote = 0
        self.pre = 0
        self.lists: list[list[int]] = []  # per open list: [is ordered, items so far]
        self.hrefs: list[str | None] = []  # per open <a>: its URL, or None
        self.pending_blank: int | None = None  # a blank line is due, at this quote depth
        self.indent = ""  # the list marker of the line being built

    # -- building lines ----------------------------------------------------------------

    def _full(self) -> bool:
        return self.limit is not None and self.size >= self.limit

    def _append(self, text: str) -> None:
        if text and not self._full():
            self.current.append(text)
            self.size += len(text)

    def _prefix(self) -> str:
        return "> " * min(self.quote, MAX_DEPTH)

    def _emit(self, line: str) -> None:
        if self._full():
            return
        if self.pending_blank is not None and self.lines and self.lines[-1].strip("> "):
            depth = min(self.pending_blank, self.quote, MAX_DEPTH)
            self.lines.append(("> " * depth).rstrip())
        self.pending_blank = None
        self.lines.append(line)
        self.size += len(line) + 1

    def _break(self) -> None:
        """End the current line (nothing happens on an empty one)."""
        text = "".join(self.current)
        self.current = []
        line = text.rstrip() if self.pre else " ".join(text.split())
        if line:
            self._emit(self._prefix() + self.indent + line)
        self.indent = ""

    def _paragraph(self) -> None:
        self._break()
        self._blank_line_due()

    def _blank_line_due(self) -> None:
        # Between a quote and what stands around it, the blank line is not quoted.
        due = self.pending_blank
        self.pending_blank = self.quote if due is None else min(due, self.quote)

    # -- the parser's callbacks ----------------------------------------------------------

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif self.skip:
            return
        elif tag == "br":
            self._break_or_blank_line()
        elif tag == "hr":
            self._paragraph()
            self._emit(self._prefix() + RULE)
            self._blank_line_due()
        elif tag in _PARAGRAPHS:
            if tag in ("ul", "ol") and self.lists:
                self._break()  # a list inside a list item: no blank line around it
            else:
                self._paragraph()
            self._open_block(tag)
        elif tag in _LINES:
            self._break()
            if tag == "li":
                self._list_item()
        elif tag in ("td", "th"):
            self._append(" ")
        elif tag == "a":
            href = (attrib.get("href") or "").strip()
            keep = self.links and href.lower().startswith(_LINK_SCHEMES)
            self.hrefs.append(href if keep else None)
            if keep:
                self._append("[")

    def _open_block(self, tag: str) -> None:
        if tag == "blockquote":
            self.quote += 1
        elif tag == "pre":
            self.pre += 1
        elif tag in ("ul", "ol"):
            self.lists.append([tag == "ol", 0])

    def _list_item(self) -> None:
        if not self.lists:
            self.indent = "* "
            return
        ordered, count = self.lists[-1]
        self.lists[-1][1] = count + 1
        indent = "  " * min(len(self.lists) - 1, MAX_DEPTH)
        self.indent = indent + (f"{count + 1}. " if ordered else "* ")

    def _break_or_blank_line(self) -> None:
        if self.current:
            self._break()
        elif not self._full():
            self.lines.append(self._prefix().rstrip())

    def end(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif self.skip:
            return
        elif tag in _PARAGRAPHS and tag != "hr":
            if tag in ("ul", "ol") and len(self.lists) > 1:
                self._break()
            else:
                self._paragraph()
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            elif tag == "pre":
                self.pre = max(0, self.pre - 1)
            elif tag in ("ul", "ol") and self.lists:
                self.lists.pop()
        elif tag in _LINES and tag != "br":
            self._break()
        elif tag == "a" and self.hrefs:
            href = self.hrefs.pop()
            if href is not None:
                self._append(f"]({href})")

    def data(self, text: str) -> None:
        if self.skip:
            return
        if not self.pre:
            self._append(text)
            return
        first, *rest = text.split("\n")
        self._append(first)
        for line in rest:
            self._break_or_blank_line()
            self._append(line)

    def close(self) -> str:
        self._break()
        text = _BLANK_RUNS.sub("\n\n", "\n".join(self.lines)).strip("\n")
        return text + "\n" if text else ""


def html_to_text(html: str, *, links: bool = True, max_chars: int | None = None) -> str:
    """A readable plain-text rendering of ``html`` (see the module's notes), ending in a
    newline unless empty.

    ``links``: write links as ``[text](url)``. ``max_chars``: for untrusted input, read
    at most four times this many characters of HTML and keep at most about this many
    of text.
    """
    if max_chars is not None:
        html = html[: max_chars * 4]
    target = _Text(links=links, max_chars=max_chars)
    parser = etree.HTMLParser(target=target, encoding="utf-8", no_network=True)
    # Bytes, so that lone surrogates (which no encoder accepts) become "?" instead of
    # raising, and a <meta charset> inside cannot change how the text is read.
    parser.feed(html.encode("utf-8", "replace"))
    result: str = parser.close()
    return result
