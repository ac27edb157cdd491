"""The template library from the step composer: Insert template and Save as template.

Thin over :mod:`sequencer.sequences.library`, with the access it decides: the library is
the whole workspace's, inserting a template edits the sequence (read and write), saving
one of its steps as a template only reads it (read only). Inserting happens in the
page: the chosen template's subject, body and files fill the step's fields and the
draft autosaves as after any edit, so what the member sees is what is saved.
"""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from sequencer.clock import system_clock
from sequencer.crm.catalog import offered_variables
from sequencer.domain.errors import InvalidInput
from sequencer.domain.sequence_rules import Level
from sequencer.domain.text import html_to_text
from sequencer.sequences import access, authoring, library
from sequencer.sequences.models import EmailTemplate, SequenceStatus
from sequencer.web.members import signed_in_member
from sequencer.web.sequences import draft_form
from sequencer.web.sequences import files as files_view
from sequencer.web.sequences.editor import save_draft
from sequencer.web.sequences.guard import access_answers

# The picker lists this many matches; typing narrows the list further.
SHOWN = 50
PREVIEW_CHARS = 120


# A variable's output, with or without a fallback: shown by its label in a preview.
VARIABLE = re.compile(r"\{\{-?\s*((?:person|company)\.[\w-]+)\s*(?:\|[^{}]*)?-?\}\}")


def _preview(body_html: str, labels: dict[str, str]) -> str:
    """The first words a recipient would read, on one line, variables as [Label]."""
    text = html_to_text(body_html, links=False)
    text = VARIABLE.sub(lambda m: f"[{labels.get(m[1], m[1])}]", text)
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= PREVIEW_CHARS:
        return text
    return text[:PREVIEW_CHARS].rsplit(" ", 1)[0] + "…"


@require_GET
@login_required
@access_answers
def picker(request: HttpRequest, sequence_id: int) -> HttpResponse:
    """The options of the Insert template dialog, for what is typed in its search box."""
    access.require_level(signed_in_member(request), sequence_id, Level.READ_WRITE)
    text = request.GET.get("q", "")[:200]
    found: list[EmailTemplate] = list(library.find_templates(text)[: SHOWN + 1])
    labels = {v.path: v.label for v in offered_variables()} if found else {}
    # Without a search, no match means an empty library; the dialog then says how to fill it.
    return render(
        request,
        "web/sequences/_template_options.html",
        {
            "templates": [(t, _preview(t.body_html, labels)) for t in found[:SHOWN]],
            "more": len(found) > SHOWN,
            "searched": text.strip(),
        },
    )


@require_GET
@login_required
@access_answers
def template_content(request: HttpRequest, sequence_id: int, template_id: int) -> JsonResponse:
    """What inserting the template puts into a step: its subject, body and files."""
    access.require_level(signed_in_member(request), sequence_id, Level.READ_WRITE)
    try:
        template = library.get_template(template_id)
    except library.TemplateNotFound:
        raise Http404("No such template.") from None
    files = [
        files_view.described(a)
        for a in sorted(template.attachments.all(), key=lambda a: a.pk)
        if not a.inline
    ]
    return JsonResponse(
        {
            "id": template.pk,
            "name": template.name,
            "subject": template.subject,
            "body_html": template.body_html,
            # Inline images travel in the body; only the files attached are fields.
            "attachment_ids": [f["id"] for f in files],
            "attachments": files,
        }
    )


def _refused(field: str | None, message: str) -> JsonResponse:
    return JsonResponse({"field": field, "message": message}, status=400)


@require_POST
@login_required
@access_answers
def save_as_template(request: HttpRequest, sequence_id: int, position: int) -> JsonResponse:
    """A new template from the step as it is on screen (the posted form).

    The draft is saved first, like Publish does, so the last keystrokes are in the
    template. A member who may not edit the sequence (the button is not offered then)
    gets the step as stored, which the service lets them save; so does a post without
    the editor's form.
    """
    member = signed_in_member(request)
    sequence, level = authoring.get_sequence(member, sequence_id)
    editable = level >= Level.READ_WRITE and sequence.status != SequenceStatus.ARCHIVED
    # Only a whole editor form is saved: a post without its steps would empty the draft.
    posted_draft = editable and "steps-count" in request.POST
    try:
        with transaction.atomic():
            if posted_draft:
                try:
                    save_draft(request, sequence_id)
                except InvalidInput as problem:
                    where = draft_form.label_of(draft_form.input_name(problem.field))
                    return _refused(
                        None,
                        "The draft could not be saved, so the template would miss your "
                        f"latest changes. Fix this first: {where + ': ' if where else ''}"
                        f"{problem.message}",
                    )
            created = library.save_step_as_template(
                member,
                sequence_id,
                position,
                name=request.POST.get("template_name", ""),
                clock=system_clock,
            )
    except library.StepNotFound:
        raise Http404("No such step.") from None
    except InvalidInput as problem:
        if problem.field == "name":
            return _refused("template_name", problem.message)
        return _refused(None, problem.message)
    return JsonResponse(
        {
            "id": created.pk,
            "name": created.name,
            "message": f'Saved "{created.name}" to the template library.',
        },
        status=201,
    )
