"""Plain text from HTML, for the text/plain part of a sent email."""

from __future__ import annotations

from inscriptis import get_text
from inscriptis.model.config import ParserConfig


def html_to_text(html: str) -> str:
    """A readable plain-text rendering of ``html``, with links kept as ``[text](url)``."""
    return get_text(html, ParserConfig(display_links=True)).strip() + "\n"
