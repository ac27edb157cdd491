"""The workspace's text generator, as the edges (web, API, worker) hand it to services.

``SEQUENCER_AI_GENERATOR`` (a Django setting) is the dotted path of a function taking
no argument and returning the configured :class:`~sequencer.ai.generator.TextGenerator`,
or ``None`` when no model is set up; empty means no model. The providers module sets
what it points at; tests point it at a fake.
"""

from __future__ import annotations

import logging
from typing import cast

from django.conf import settings
from django.utils.module_loading import import_string

from sequencer.ai.generator import TextGenerator

log = logging.getLogger(__name__)


def configured_generator() -> TextGenerator | None:
    """The workspace's generator; ``None`` when none is set up or it cannot be built
    (logged: previews then show fallbacks, and the engine holds slots without one)."""
    path = getattr(settings, "SEQUENCER_AI_GENERATOR", "")
    if not path:
        return None
    try:
        return cast("TextGenerator | None", import_string(path)())
    except Exception:
        log.exception("the text generator named by SEQUENCER_AI_GENERATOR could not be built")
        return None
