"""The editor's Settings tab: who sends this sequence, from which mailbox, with which signature.

Everything goes through the services the API uses: the signature is a setting of the
draft (``authoring.update_draft``, read and write access); delegated sending is
:mod:`sequencer.sequences.delegation`: a member turns it on for their own address
(read only is enough, as in ``PUT .../delegation/me``: it concerns their mailbox, not
the sequence) and a member who may edit invites a teammate, who answers from the
notifications menu. A declined invitation is deleted by the service, so the list shows
who accepted and who is still invited.

The page costs the same number of queries whatever the number of delegates or members:
the delegates come with their members and mailboxes in a few queries, and who could be
invited is decided for all members at once (``access.member_levels``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from sequencer.clock import system_clock
from sequencer.domain.errors import InvalidInput
from sequencer.domain.sender import DEFAULT_SIGNATURE
from sequencer.domain.sequence_rules import Level
from sequencer.mail.mailboxes import list_mailboxes
from sequencer.mail.models import Mailbox, Signature
from sequencer.sequences import access, authoring, delegation
from sequencer.sequences.models import Sequence, SequenceStatus
from sequencer.web.members import signed_in_member
from sequencer.web.sequences.editor import TABS
from sequencer.web.sequences.guard import access_answers
from sequencer.workspace.models import User

# How many members the invite search offers at once: enough to pick from, short to read.
MAX_CANDIDATES = 8


@dataclass(frozen=True)
class DelegateRow:
    delegate: delegation.Delegate
    is_viewer: bool

    @property
    def member(self) -> User:
        return self.delegate.member

    @property
    def accepted(self) -> bool:
        return self.delegate.status == delegation.ACTIVE


def _own_mailboxes(viewer: User) -> list[Mailbox]:
    """The viewer's mailboxes with their signatures (two queries)."""
    ordered = Signature.objects.order_by("name")
    return list(
        list_mailboxes(viewer)
        .order_by("-is_default", "email")
        .prefetch_related(Prefetch("signatures", queryset=ordered))
    )


def _signature_choices(own: list[Mailbox], current: str) -> list[tuple[str, str]]:
    """ "default" first, then each signature name of the viewer's mailboxes, once."""
    names: dict[str, str] = {}
    for mailbox in own:
        for signature in mailbox.signatures.all():
            names.setdefault(signature.name.strip().casefold(), signature.name.strip())
    if current != DEFAULT_SIGNATURE:
        names.setdefault(current.casefold(), current)
    names.pop(DEFAULT_SIGNATURE, None)
    return [(DEFAULT_SIGNATURE, "Each sender's default signature")] + [
        (name, f"“{name}”") for name in sorted(names.values(), key=str.casefold)
    ]


def candidates(viewer: User, sequence: Sequence, taken: set[int], query: str) -> list[User]:
    """Members who could be invited: active, not the viewer, not already listed, and able
    to see the sequence (the service refuses anyone else), matching ``query``."""
    members = User.objects.filter(is_active=True).exclude(pk__in=taken | {viewer.pk})
    query = query.strip()
    if query:
        members = members.filter(Q(name__icontains=query) | Q(email__icontains=query))
    people = list(members.order_by("name", "email")[:200])
    levels = access.member_levels(sequence, people)
    return [m for m in people if levels[m.pk] >= Level.READ_ONLY][:MAX_CANDIDATES]


def settings_context(
    viewer: User, sequence: Sequence, level: Level, *, query: str = ""
) -> dict[str, Any]:
    snapshot = authoring.draft_snapshot(sequence)
    found = delegation.delegates(viewer, sequence.pk)
    rows = [DelegateRow(d, d.member.pk == viewer.pk) for d in found]
    mine = next((r.delegate for r in rows if r.is_viewer), None)
    own = _own_mailboxes(viewer)
    default_mailbox = next((m for m in own if m.is_default), None)
    current_signature = snapshot["settings"].get("signature", DEFAULT_SIGNATURE)
    archived = sequence.status == SequenceStatus.ARCHIVED
    can_invite = level >= Level.READ_WRITE
    return {
        "section": "sequences",
        "tab": "settings",
        "tabs": TABS,
        "sequence": sequence,
        "level": level,
        "viewer": viewer,
        "read_only": level < Level.READ_WRITE,
        "archived": archived,
        "can_edit": level >= Level.READ_WRITE and not archived,
        "can_invite": can_invite,
        "include_signature": snapshot["settings"].get("include_signature", True),
        "signature": current_signature,
        "signature_choices": _signature_choices(own, current_signature),
        "mine": mine,
        "mine_pending": mine is not None and mine.status != delegation.ACTIVE,
        "own_mailboxes": own,
        "default_mailbox": default_mailbox,
        "delegates": [r for r in rows if not r.is_viewer],
        "query": query,
        "candidates": (
            candidates(viewer, sequence, {r.member.pk for r in rows}, query) if can_invite else []
        ),
    }


def _answer(
    request: HttpRequest, sequence_id: int, *, status: str = "", problem: str = ""
) -> HttpResponse:
    """htmx: the redrawn settings with a status line; otherwise back to the page."""
    viewer = signed_in_member(request)
    if request.headers.get("HX-Request") != "true":
        if problem:
            messages.error(request, problem)
        elif status:
            messages.success(request, status)
        return redirect("web:sequence_settings", sequence_id=sequence_id)
    sequence, level = authoring.get_sequence(viewer, sequence_id)
    context = settings_context(viewer, sequence, level)
    context.update(status=status, problem=problem)
    return render(request, "web/sequences/settings.html#settings_update", context)


@require_GET
@login_required
@access_answers
def settings_page(request: HttpRequest, sequence_id: int) -> HttpResponse:
    viewer = signed_in_member(request)
    sequence, level = authoring.get_sequence(viewer, sequence_id)
    context = settings_context(viewer, sequence, level, query=request.GET.get("q", ""))
    return render(request, "web/sequences/settings.html", context)


@require_GET
@login_required
@access_answers
def member_search(request: HttpRequest, sequence_id: int) -> HttpResponse:
    """The invite search's matches (as the Invite member form's choices)."""
    viewer = signed_in_member(request)
    sequence, _ = access.require_level(viewer, sequence_id, Level.READ_WRITE)
    taken = {d.member.pk for d in delegation.delegates(viewer, sequence.pk)}
    query = request.GET.get("q", "")
    return render(
        request,
        "web/sequences/settings.html#candidates",
        {"candidates": candidates(viewer, sequence, taken, query), "query": query},
    )


@require_POST
@login_required
@access_answers
def save_signature(request: HttpRequest, sequence_id: int) -> HttpResponse:
    try:
        authoring.update_draft(
            signed_in_member(request),
            sequence_id,
            settings={"signature": request.POST.get("signature", "")},
            clock=system_clock,
        )
    except InvalidInput as refused:
        return _answer(request, sequence_id, problem=f"Signature not saved: {refused.message}")
    return _answer(
        request,
        sequence_id,
        status="Signature saved to the draft. Publish the sequence to use it for new emails.",
    )


def _mailbox_choice(request: HttpRequest, viewer: User) -> int | None:
    """``None`` for "Use default mailbox"; else the chosen mailbox's id.

    Turning delegated sending on (the mailbox fields are not on the page yet) uses the
    default mailbox, or the first one for a member without a default.
    """
    own = list(list_mailboxes(viewer).order_by("-is_default", "email")[:1])
    if "mailbox_fields" not in request.POST:
        return None if not own or own[0].is_default else own[0].pk
    if "use_default" in request.POST:
        return None
    raw = request.POST.get("mailbox_id", "")
    if raw.isdigit():
        return int(raw)
    # "Use default mailbox" just unticked: the select appears with the first mailbox.
    return own[0].pk if own else None


@require_POST
@login_required
@access_answers
def save_own_delegation(request: HttpRequest, sequence_id: int) -> HttpResponse:
    viewer = signed_in_member(request)
    enabled = "enabled" in request.POST
    try:
        found = delegation.set_own_delegation(
            viewer,
            sequence_id,
            enabled=enabled,
            mailbox_id=_mailbox_choice(request, viewer) if enabled else None,
            clock=system_clock,
        )
    except InvalidInput as refused:
        return _answer(request, sequence_id, problem=refused.message)
    if found is None:
        said = "Delegated sending is off: nobody else can send this sequence as you."
    elif found.row.mailbox_id is None:
        said = "Teammates can now send this sequence as you, from your default mailbox."
    else:
        where = found.mailbox.email if found.mailbox is not None else "your mailbox"
        said = f"Teammates can now send this sequence as you, from {where}."
    return _answer(request, sequence_id, status=said)


@require_POST
@login_required
@access_answers
def invite_member(request: HttpRequest, sequence_id: int) -> HttpResponse:
    raw = request.POST.get("member_id", "")
    if not raw.isdigit():
        # Asked before the service, which would check access first: a read-only member
        # still gets the 403 below, through the service.
        access.require_level(signed_in_member(request), sequence_id, Level.READ_WRITE)
        return _answer(request, sequence_id, problem="Choose a member to invite.")
    try:
        found = delegation.invite(
            signed_in_member(request), sequence_id, int(raw), clock=system_clock
        )
    except InvalidInput as refused:
        return _answer(request, sequence_id, problem=refused.message)
    return _answer(
        request,
        sequence_id,
        status=f"Invited {found.member}. They can accept from their notifications.",
    )
