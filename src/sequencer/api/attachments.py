"""Files: attachments of steps and templates, and images shown inline in bodies."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Router, Schema, Status, UploadedFile

from sequencer.api.auth import caller
from sequencer.api.errors import NotFound
from sequencer.sequences import attachments
from sequencer.sequences.models import Attachment

router = Router(tags=["Sequences"])


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    inline: bool
    content_id: str | None


def _attachment(found: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=found.pk,
        name=found.name,
        content_type=found.content_type,
        size=found.size,
        sha256=found.sha256,
        inline=found.inline,
        content_id=found.content_id or None,
    )


@router.post("/attachments", response={201: AttachmentOut})
def upload_attachment(
    request: HttpRequest, file: File[UploadedFile], inline: Form[bool] = False
) -> Status[AttachmentOut]:
    """Upload a file (multipart field ``file``); ``inline=true`` for an image shown in a body.

    An inline image's ``content_id`` goes in the body as ``<img src="cid:<content_id>">``;
    other files are attached to a step by listing their id in ``attachment_ids``.
    """
    # Checked before reading (a file over the limit is not read), with its real size.
    attachments.check_file_size(file.size or 0)
    data = file.read(attachments.MAX_FILE_BYTES + 1)
    created = attachments.upload(
        caller(request),
        name=file.name or "",
        content_type=file.content_type or "",
        data=data,
        inline=inline,
    )
    return Status(201, _attachment(created))


def _readable(request: HttpRequest, attachment_id: int) -> Attachment:
    found = attachments.readable_by(caller(request)).filter(pk=attachment_id).first()
    if found is None:
        raise NotFound("attachment")
    return found


@router.get("/attachments/{attachment_id}", response=AttachmentOut)
def get_attachment(request: HttpRequest, attachment_id: int) -> AttachmentOut:
    return _attachment(_readable(request, attachment_id))


@router.get("/attachments/{attachment_id}/content")
def download_attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    found = _readable(request, attachment_id)
    data = Attachment.objects.values_list("data", flat=True).get(pk=found.pk)
    response = HttpResponse(bytes(data), content_type=found.content_type)
    # Always a download: an uploaded HTML or SVG file must not run in the app's origin.
    response["Content-Disposition"] = f'attachment; filename="{_header_safe(found.name)}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _header_safe(name: str) -> str:
    return "".join(ch if ch.isascii() and ch.isprintable() and ch != '"' else "_" for ch in name)
