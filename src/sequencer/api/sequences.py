"""Sequences: authoring, versions, access, templates."""

from ninja import Router

router = Router(tags=["Sequences"])
