"""The composer's files: uploading attachments and inline images, and reading them back.

A thin layer over :mod:`sequencer.sequences.attachments`, the service the API uses.
Uploading needs read-and-write access to the sequence being edited (a sequence the
member cannot see is a 404); the upload is not on any step until the draft is saved
with its id (attachments) or its ``cid:`` in the body (inline images).

Files are read back only by members who may use them (``attachments.readable_by``);
anything else is a 404, like an id that does not exist. An attachment is always a
download, so an uploaded HTML or SVG file never runs in the app's origin; an inline
image is shown in the page, which is safe because its type was sniffed from its bytes
when it was uploaded (PNG, JPEG, GIF or WebP only).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from sequencer.domain.errors import InvalidInput
from sequencer.domain.sequence_rules import Level
from sequencer.sequences import access, attachments
from sequencer.sequences.models import Attachment, SequenceStatus
from sequencer.web.members import signed_in_member
from sequencer.web.sequences.guard import access_answers


def described(found: Attachment) -> dict[str, Any]:
    """What the composer shows of a file (the editor page renders the same)."""
    return {
        "id": found.pk,
        "name": found.name,
        "size": found.size,
        "size_label": filesizeformat(found.size),
        "inline": found.inline,
        "content_id": found.content_id or None,
        "url": (
            reverse("web:file_inline", args=[found.content_id])
            if found.inline
            else reverse("web:file_download", args=[found.pk])
        ),
    }


def _refused(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


@require_POST
@login_required
@access_answers
def upload(request: HttpRequest, sequence_id: int) -> HttpResponse:
    """Store one uploaded file (``file``; ``inline=1`` for an image shown in the body).

    ``attachment_ids`` and ``body_html`` describe the email as the composer has it, so a
    file that would take the email over its size limit is refused before it is stored.
    """
    member = signed_in_member(request)
    sequence, _ = access.require_level(member, sequence_id, Level.READ_WRITE)
    if sequence.status == SequenceStatus.ARCHIVED:
        return _refused("This sequence is archived; unarchive it before you edit it.")
    file = request.FILES.get("file")
    if file is None:
        return _refused("Choose a file to upload.")
    try:
        # Checked before reading: a file over the limit is not read into memory.
        attachments.check_file_size(file.size or 0)
        data = file.read(attachments.MAX_FILE_BYTES + 1)
        if 0 < len(data) <= attachments.MAX_FILE_BYTES:
            attachments.check_room(
                member,
                adding=len(data),
                attachment_ids=[
                    int(v) for v in request.POST.getlist("attachment_ids") if v.isdigit()
                ],
                body_html=request.POST.get("body_html", ""),
                field="file",
            )
        created = attachments.upload(
            member,
            name=file.name or "",
            content_type=file.content_type or "",
            data=data,
            inline=request.POST.get("inline") == "1",
        )
    except InvalidInput as problem:
        return _refused(problem.message)
    return JsonResponse(described(created), status=201)


def _content(found: Attachment) -> bytes:
    return bytes(Attachment.objects.values_list("data", flat=True).get(pk=found.pk))


@require_GET
@login_required
def download(request: HttpRequest, attachment_id: int) -> HttpResponse:
    found = attachments.readable_by(signed_in_member(request)).filter(pk=attachment_id).first()
    if found is None:
        raise Http404("No such file.")
    response = HttpResponse(_content(found), content_type=found.content_type)
    response["Content-Disposition"] = f'attachment; filename="{_header_safe(found.name)}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@login_required
def inline_image(request: HttpRequest, content_id: str) -> HttpResponse:
    """An inline image, shown in the composer where the body says ``cid:<content_id>``."""
    found = (
        attachments.readable_by(signed_in_member(request))
        .filter(inline=True, content_id=content_id)
        .first()
    )
    data = _content(found) if found is not None else b""
    # Uploads sniff inline images; checked again so only an image is ever shown inline.
    if found is None or attachments.image_type(data) != found.content_type:
        raise Http404("No such image.")
    response = HttpResponse(data, content_type=found.content_type)
    response["Content-Disposition"] = f'inline; filename="{_header_safe(found.name)}"'
    response["X-Content-Type-Options"] = "nosniff"
    # Its content never changes, but access may be withdrawn: cached by this browser only.
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _header_safe(name: str) -> str:
    return "".join(ch if ch.isascii() and ch.isprintable() and ch != '"' else "_" for ch in name)
