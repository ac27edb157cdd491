"""An email's HTML, shown inside one of our pages (a preview, a timeline entry).

Rendered bodies are already sanitised by the renderer; here they are cleaned once more
with the same allowed tags but without ``style`` attributes, which the page's Content
Security Policy refuses (the page's own stylesheet formats them instead).
"""

from __future__ import annotations

import nh3
from django.utils.safestring import SafeString, mark_safe

from sequencer.sequences.html import ALLOWED_ATTRIBUTES, ALLOWED_TAGS

_ATTRIBUTES = {tag: set(names) - {"style"} for tag, names in ALLOWED_ATTRIBUTES.items()}


def for_page(html: str) -> SafeString:
    cleaned = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        strip_comments=True,
        link_rel="noopener noreferrer",
    )
    return mark_safe(cleaned)  # cleaned just above, from an allow-list
