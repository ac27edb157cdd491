"""Files attached to emails, and images shown inline in them.

Uploads are stored in the database (deployments on several machines share no disk)
and capped: :data:`MAX_FILE_BYTES` per file and :data:`MAX_EMAIL_BYTES` for everything
one email carries, so that mail servers accept what is sent (most refuse messages over
25 to 35 MB once encoded).

An inline image gets a ``content_id``; a body shows it with ``<img src="cid:<content_id>">``
and the image travels with the email. Regular attachments are listed on a step by id.

A member may use (attach, or show inline) a file they uploaded, one in the template
library, or one already used by a sequence they can see; anything else is reported as
not found, like an id that does not exist.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable
from collections.abc import Sequence as Seq

from django.db.models import Exists, OuterRef, Q, QuerySet

from sequencer.domain.errors import InvalidInput
from sequencer.sequences.models import Attachment, EmailTemplate, SequenceVersion, Step
from sequencer.workspace.models import User

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_EMAIL_BYTES = 25 * 1024 * 1024
_MB = 1024 * 1024

# Inline images are recognised by their first bytes rather than by the declared type,
# which a browser guesses from the file name.
_IMAGE_SIGNATURES: tuple[tuple[str, bytes], ...] = (
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/jpeg", b"\xff\xd8\xff"),
    ("image/gif", b"GIF87a"),
    ("image/gif", b"GIF89a"),
)
# The blanks after the quote are inside the optional group, so no two "\s*" can share a
# run of blanks (which made "src=" followed by many spaces cost quadratic time).
_CID = re.compile(r"""\bsrc\s*=\s*(?:["']\s*)?cid:([^"'\s>]+)""", re.IGNORECASE)
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]+")


def upload(
    user: User, *, name: str, content_type: str, data: bytes, inline: bool = False
) -> Attachment:
    """Store an uploaded file; ``inline`` ones must be PNG, JPEG, GIF or WebP images."""
    size = len(data)
    check_file_size(size)
    clean_name = _UNSAFE_NAME.sub("_", (name or "").strip())[-255:] or "attachment"
    declared = (content_type or "").split(";")[0].strip().lower()
    content_id = ""
    if inline:
        sniffed = image_type(data)
        if sniffed is None:
            raise InvalidInput(
                "An inline image must be a PNG, JPEG, GIF or WebP file.",
                field="file",
                code="not_an_image",
            )
        declared = sniffed
        content_id = f"{uuid.uuid4().hex}@sequencer"
    return Attachment.objects.create(
        name=clean_name,
        content_type=declared or "application/octet-stream",
        size=size,
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        inline=inline,
        content_id=content_id,
        created_by=user,
    )


def check_file_size(size: int) -> None:
    """Refuse an empty file or one over :data:`MAX_FILE_BYTES`; callable before reading it."""
    if size == 0:
        raise InvalidInput("The file is empty; choose another.", field="file", code="empty_file")
    if size > MAX_FILE_BYTES:
        raise InvalidInput(
            f"The file is {size / _MB:.1f} MB; each file may be at most "
            f"{MAX_FILE_BYTES // _MB} MB. Share larger files as a link instead.",
            field="file",
            code="file_too_large",
        )


def image_type(data: bytes) -> str | None:
    for content_type, signature in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return content_type
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def usable_by(user: User) -> QuerySet[Attachment]:
    """The files ``user`` may attach or show inline (see the module docstring)."""
    from sequencer.sequences.access import visible_sequences

    files = Attachment.objects.defer("data")
    if user.is_admin:
        return files
    visible = visible_sequences(user).values("pk")
    on_step = Step.objects.filter(attachments=OuterRef("pk"), sequence__in=visible)
    on_version = SequenceVersion.objects.filter(attachments=OuterRef("pk"), sequence__in=visible)
    on_template = EmailTemplate.objects.filter(attachments=OuterRef("pk"))
    return files.filter(
        Q(created_by=user) | Exists(on_template) | Exists(on_step) | Exists(on_version)
    )


def attachments_for(user: User, ids: Seq[object], *, field: str) -> list[Attachment]:
    """The regular attachments with ``ids``, in order; refused naming the entry."""
    wanted = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
    found = {a.pk: a for a in usable_by(user).filter(pk__in=wanted)}
    out: list[Attachment] = []
    seen: set[int] = set()
    for index, raw in enumerate(ids):
        attachment = found.get(raw) if isinstance(raw, int) else None
        if attachment is None:
            raise InvalidInput(
                f"There is no attachment with id {raw!r}; upload the file first "
                "(POST /api/v1/attachments).",
                field=f"{field}.{index}",
                code="not_found",
            )
        if attachment.inline:
            raise InvalidInput(
                f"Attachment {raw} is an inline image; show it in the body with "
                f'<img src="cid:{attachment.content_id}"> instead of attaching it.',
                field=f"{field}.{index}",
                code="inline_image",
            )
        if attachment.pk not in seen:
            seen.add(attachment.pk)
            out.append(attachment)
    return out


def content_ids_in(body_html: str) -> list[str]:
    """The ``cid:`` image references in ``body_html``, each once, in order."""
    return list(dict.fromkeys(_CID.findall(body_html)))


def inline_images_for(user: User, body_html: str, *, field: str) -> list[Attachment]:
    """The inline images ``body_html`` shows; an unknown ``cid:`` is refused."""
    cids = content_ids_in(body_html)
    if not cids:
        return []
    found = {a.content_id: a for a in usable_by(user).filter(inline=True, content_id__in=cids)}
    for cid in cids:
        if cid not in found:
            raise InvalidInput(
                f'The body shows the image "cid:{cid}", but no inline image has that '
                "content id; upload it with inline=true and use the content_id returned.",
                field=field,
                code="unknown_inline_image",
            )
    return [found[cid] for cid in cids]


def check_email_size(files: Iterable[Attachment], *, field: str) -> None:
    total = sum(f.size for f in {f.pk: f for f in files}.values())
    if total > MAX_EMAIL_BYTES:
        raise InvalidInput(
            f"The attachments and images of this email add up to {total / _MB:.1f} MB; "
            f"one email may carry at most {MAX_EMAIL_BYTES // _MB} MB.",
            field=field,
            code="attachments_too_large",
        )


def check_room(
    user: User, *, adding: int, attachment_ids: Seq[int], body_html: str, field: str
) -> None:
    """Refuse a new file of ``adding`` bytes that would take an email over the limit.

    The email's files are the regular attachments ``attachment_ids`` and the inline
    images ``body_html`` shows (only those ``user`` may use count: others are refused
    when the draft is saved anyway). Checked before the upload is stored, so that the
    composer says so next to its control rather than when the draft is saved.
    """
    cids = content_ids_in(body_html)
    on_email = usable_by(user).filter(
        Q(pk__in=list(attachment_ids), inline=False) | Q(inline=True, content_id__in=cids)
    )
    total = adding + sum(on_email.values_list("size", flat=True))
    if total > MAX_EMAIL_BYTES:
        raise InvalidInput(
            f"With this file, the attachments and images of this email would add up to "
            f"{total / _MB:.1f} MB; one email may carry at most {MAX_EMAIL_BYTES // _MB} MB.",
            field=field,
            code="attachments_too_large",
        )


def readable_by(user: User) -> QuerySet[Attachment]:
    """The files whose content ``user`` may download: the same as those they may use."""
    return usable_by(user)
