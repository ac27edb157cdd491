"""Sanitising email HTML without breaking the Liquid inside it.

Bodies are cleaned when they are saved: safe formatting survives; scripts, styles,
event handlers and links other than http(s)/mailto do not; images load only from
``cid:`` (an inline attachment) or https.

An HTML sanitiser re-serialises its input, which would mangle Liquid: the quotes in
``href="...{{ person.first_name | default: "there" }}"`` end the attribute early. So
every ``{{ ... }}`` and ``{% ... %}`` is swapped for an inert placeholder first and put
back afterwards, exactly as written. Two rules keep the restored source safe to show
in a browser as it is:

* Liquid in an attribute that contains ``"`` is re-quoted with ``'`` (Liquid using both
  quote kinds there is refused);
* Liquid in text must not contain ``<`` followed by a letter, ``/``, ``!`` or ``?``,
  which a browser would read as the start of a tag.

Rendering can still produce unsafe HTML (a string literal is not escaped; a URL comes
from a record), so a rendered body is cleaned once more with ``liquid=False``, which
:func:`sequencer.sequences.templating.render_html_body` does.
"""

from __future__ import annotations

import re
import secrets

import nh3

from sequencer.domain.errors import InvalidInput
from sequencer.sequences.liquid_lexer import markup_spans

ALLOWED_TAGS = frozenset(
    {
        "a", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr",
        "i", "img", "li", "ol", "p", "pre", "s", "small", "span", "strike", "strong",
        "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
_CELL = {"align", "valign", "colspan", "rowspan", "width", "height"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"style", "dir", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "table": {"align", "width", "border", "cellpadding", "cellspacing"},
    "td": _CELL,
    "th": _CELL,
    "ol": {"start"},
}
# Inline styles are how email HTML is formatted; anything that positions, hides or
# loads something is left out.
ALLOWED_STYLES = frozenset(
    {
        "color", "background-color", "font-family", "font-size", "font-style",
        "font-weight", "text-align", "text-decoration", "line-height", "vertical-align",
        "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
        "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
        "border", "border-collapse", "width", "height", "max-width",
    }
)  # fmt: skip
_URL_SCHEMES = {"http", "https", "mailto", "cid"}
_LINK_PREFIXES = ("http://", "https://", "mailto:")
_IMAGE_PREFIXES = ("https://", "cid:")

_TAG_START = re.compile(r"<[A-Za-z/!?]")
# The sanitiser writes every tag as <name attr="value" ...> with '"' escaped in values
# ('<' and '>' are not), so these patterns find tags and attributes in its output.
_OUT_TAG = re.compile(r'<[A-Za-z][^\s/>]*(?:\s+[^\s"\'=<>/]+="[^"]*")*\s*/?>')
_OUT_ATTR = re.compile(r'(\s[^\s"\'=<>/]+)="([^"]*)"')


def sanitize_html(html: str, *, liquid: bool = True, field: str = "body_html") -> str:
    """``html`` with everything unsafe removed; Liquid markup kept verbatim if ``liquid``."""
    if not html:
        return ""
    marker = _marker(html)
    pieces: list[str] = []
    source = _protect(html, marker, pieces) if liquid else html

    def allowed_url(tag: str, attribute: str, value: str) -> str | None:
        if (tag, attribute) not in {("a", "href"), ("img", "src")}:
            return value
        url = value.strip()
        if liquid and url.startswith(marker):
            # A URL computed by Liquid is checked after rendering, when it is known.
            return url
        prefixes = _LINK_PREFIXES if attribute == "href" else _IMAGE_PREFIXES
        return url if url.lower().startswith(prefixes) else None

    def relative_url(url: str) -> str | None:
        return url if liquid and url.strip().startswith(marker) else None

    cleaned = nh3.clean(
        source,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=allowed_url,
        url_schemes=set(_URL_SCHEMES),
        url_relative=relative_url,
        filter_style_properties=set(ALLOWED_STYLES),
        strip_comments=True,
        link_rel="noopener noreferrer",
    )
    if not pieces:
        return cleaned
    return _restore(cleaned, marker, pieces, field)


def _protect(html: str, marker: str, pieces: list[str]) -> str:
    """``html`` with each piece of Liquid markup swapped for a numbered placeholder.

    The pieces are found by a forward-only scan (a regular expression looking for the
    closer from every opener was quadratic on a body made of ``{{``).
    """
    out: list[str] = []
    done = 0
    for start, end in markup_spans(html):
        out.append(html[done:start])
        out.append(f"{marker}{len(pieces)}x")
        pieces.append(html[start:end])
        done = end
    out.append(html[done:])
    return "".join(out)


def _marker(html: str) -> str:
    # Letters and digits only, so the sanitiser neither escapes nor splits it, in text
    # or in attributes; random, so no input can forge one.
    while True:
        marker = f"lqd{secrets.token_hex(6)}x"
        if marker not in html:
            return marker


def _restore(cleaned: str, marker: str, pieces: list[str], field: str) -> str:
    placeholder = re.compile(re.escape(marker) + r"(\d+)x")

    def piece(match: re.Match[str]) -> str:
        return pieces[int(match.group(1))]

    def attribute(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if marker not in value:
            return match.group(0)
        used = [pieces[int(m.group(1))] for m in placeholder.finditer(value)]
        if not any('"' in markup for markup in used):
            return f'{name}="{placeholder.sub(piece, value)}"'
        if any("'" in markup for markup in used):
            raise InvalidInput(
                f"{field}: Liquid inside the {name.strip()} attribute uses both \" and '; "
                "use only one kind of quote there, e.g. default: 'there'.",
                field=field,
                code="unsafe_liquid",
            )
        # Quoted with ' so that the " inside the Liquid stays inside the attribute.
        outside = value.replace("'", "&#39;")
        return f"{name}='{placeholder.sub(piece, outside)}'"

    def tag(match: re.Match[str]) -> str:
        return _OUT_ATTR.sub(attribute, match.group(0))

    restored = _OUT_TAG.sub(tag, cleaned)

    def text(match: re.Match[str]) -> str:
        markup = pieces[int(match.group(1))]
        if _TAG_START.search(markup):
            raise InvalidInput(
                f"{field}: the Liquid {markup[:60]!r} contains HTML markup; write HTML "
                "outside Liquid tags, or escape '<' as &lt;.",
                field=field,
                code="unsafe_liquid",
            )
        return markup

    return placeholder.sub(text, restored)
