"""The Enroll dialog: one component for every place people are enrolled from.

``GET /enroll/`` shows what enrolling would do, computed by the enrollment service's dry
run (:func:`sequencer.sequences.enrollment.check`), so every refusal shown here is the
one the service would give: unsubscribed from this sender, undeliverable, already
active, no address. ``POST /enroll/`` enrolls through :func:`enrollment.enroll` and
shows what happened. Opened from a button through htmx, the answer is a modal
``<dialog>``; opened as a link, it is a page of its own.

The page costs the same number of queries for 10 or 1,000 people: people and their
addresses, suppressions and open enrollments are each read once for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from sequencer.ai.variables import for_preview
from sequencer.clock import system_clock
from sequencer.crm.models import EmailAddress, Person, PersonList
from sequencer.domain.errors import InvalidInput
from sequencer.domain.sequence_rules import Level
from sequencer.mail.mailbox_access import list_mailboxes
from sequencer.mail.models import Mailbox
from sequencer.sequences import access, delegation, enrollment
from sequencer.sequences.authoring import latest_version
from sequencer.sequences.enrollment import MAX_RECIPIENTS, Outcome
from sequencer.sequences.models import Sequence, SequenceStatus, SequenceVersion
from sequencer.sequences.preview import PreviewEmail, preview_person
from sequencer.web.enroll import selection
from sequencer.web.enroll.email_html import for_page
from sequencer.web.enroll.selection import Selection
from sequencer.web.members import signed_in_member
from sequencer.web.sequences.guard import access_answers
from sequencer.web.viewer_zone import place, viewer_zone, when
from sequencer.workspace.models import User


@dataclass(frozen=True)
class SenderChoice:
    value: str  # "mailbox:<id>" or "member:<id>"
    label: str


@dataclass(frozen=True)
class Row:
    person_id: int
    person: Person | None
    addresses: list[EmailAddress]
    outcome: Outcome | None

    @property
    def name(self) -> str:
        return self.person.display_name if self.person else f"Unknown person (id {self.person_id})"

    @property
    def address(self) -> str:
        if self.outcome is not None and self.outcome.email:
            return self.outcome.email
        return self.addresses[0].email if self.addresses else ""

    @property
    def refused(self) -> bool:
        return self.outcome is not None and self.outcome.code is not None


@dataclass(frozen=True)
class PreviewStep:
    number: int
    when: str
    email: PreviewEmail
    body: str


def _enrollable_sequences(viewer: User) -> list[Sequence]:
    """Published, not archived, and the viewer may enroll into them (read and write)."""
    live = list(
        access.visible_sequences(viewer).filter(status=SequenceStatus.LIVE).order_by("name", "pk")
    )
    levels = access.levels_for(viewer, live)
    return [s for s in live if levels[s.pk] >= Level.READ_WRITE]


def sender_choices(viewer: User, sequence: Sequence) -> list[SenderChoice]:
    """The viewer's own mailboxes, then teammates who let this sequence send as them."""
    own = [
        SenderChoice(f"mailbox:{m.pk}", f"You · {m.email}{' (default)' if m.is_default else ''}")
        for m in list_mailboxes(viewer).order_by("-is_default", "email")
    ]
    others = [
        SenderChoice(f"member:{d.member.pk}", f"{d.member} · {d.mailbox.email} (delegated sender)")
        for d in delegation.delegates(viewer, sequence.pk)
        if d.status == delegation.ACTIVE
        and d.has_access
        and d.mailbox is not None
        and d.member.pk != viewer.pk
    ]
    return own + others


# How many people the search offers at once: enough to pick from, short to read.
MAX_MATCHES = 8


def _matches(chosen: Selection) -> list[Person]:
    """People matching the search by name or address, not already chosen."""
    if not chosen.query:
        return []
    words = Q()
    for word in chosen.query.split()[:4]:
        words &= (
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email_addresses__email__icontains=word)
        )
    found = (
        Person.objects.filter(words)
        .exclude(pk__in=chosen.person_ids)
        .distinct()
        .order_by("first_name", "last_name", "pk")[:MAX_MATCHES]
    )
    return list(found.prefetch_related("email_addresses"))


def _people(ids: list[int]) -> dict[int, Person]:
    addresses = EmailAddress.objects.order_by("-is_primary", "position", "id")
    return {
        p.pk: p
        for p in Person.objects.filter(pk__in=ids).prefetch_related(
            Prefetch("email_addresses", queryset=addresses)
        )
    }


def _preview(
    viewer: User,
    sequence: Sequence,
    version: SequenceVersion,
    chosen: Selection,
    row: Row,
    request: HttpRequest,
) -> dict[str, Any]:
    if row.person is None or not row.address:
        return {"preview_problem": f"{row.name} has no email address to preview."}
    mailbox_id, member_id = chosen.sender_ids()
    sender = delegation.sending_mailbox(
        viewer, sequence, mailbox_id=mailbox_id, member_id=member_id
    )
    zone = viewer_zone(request)
    now = system_clock.now()
    # AI text is written here if missing (one recipient at a time: it may take seconds)
    # and stored, so what is previewed is what is sent.
    ai_texts = for_preview(version_id=version.pk, person_id=row.person.pk, clock=system_clock)
    emails = preview_person(
        version, row.person, row.address, cast(Mailbox, sender), now, ai_texts=ai_texts
    )
    return {
        "preview_row": row,
        "preview_steps": [
            PreviewStep(
                e.step + 1,
                when(e.send_at, zone, now=now),
                e,
                # Rendered bodies are sanitised by the renderer; cleaned once more before
                # they become part of this page.
                for_page(e.html),
            )
            for e in emails
        ],
        "viewer_place": place(zone),
    }


def dialog_context(request: HttpRequest, chosen: Selection) -> dict[str, Any]:
    """Everything the dialog shows for ``chosen``; raises ``NoAccess`` for a sequence
    the viewer may not see (a 404, as everywhere)."""
    viewer = signed_in_member(request)
    context: dict[str, Any] = {
        "section": "sequences",
        "chosen": chosen,
        "max_label": f"{MAX_RECIPIENTS:,}",
        "in_dialog": request.GET.get("in_dialog") == "1" or request.POST.get("in_dialog") == "1",
        "sequence": None,
        "sequences": [],
        "rows": [],
        "can_enroll": False,
    }
    people = _people(chosen.person_ids)
    rows = [Row(p, people.get(p), _addresses(people.get(p)), None) for p in chosen.person_ids]
    context["rows"] = rows
    context["matches"] = _matches(chosen)
    context["lists"] = list(PersonList.objects.order_by("name", "pk")[:200])
    if chosen.pick:
        context["sequences"] = _enrollable_sequences(viewer)
    if chosen.sequence_id is None:
        return context
    sequence, level = access.require_level(viewer, chosen.sequence_id, Level.READ_ONLY)
    context["sequence"] = sequence
    if level < Level.READ_WRITE:
        context["blocked"] = (
            f"You have read-only access to “{sequence.display_name}”, so you cannot enroll "
            "people into it. Ask someone with full access to this sequence for read and "
            "write access."
        )
        return context
    version = latest_version(sequence)
    if sequence.status == SequenceStatus.ARCHIVED or version is None:
        context["blocked"] = (
            f"“{sequence.display_name}” is archived; unarchive it to enroll people."
            if version is not None
            else f"“{sequence.display_name}” has never been published; publish it, then "
            "enroll people."
        )
        return context
    choices = sender_choices(viewer, sequence)
    context["senders"] = choices
    if not choices:
        context["sender_error"] = (
            "You have no mailbox to send from, and no teammate has turned on Delegated "
            "sender for this sequence. Connect a mailbox, or ask a teammate to turn it on "
            "in the sequence's Settings tab."
        )
        return context
    if chosen.sender not in {c.value for c in choices}:
        chosen.sender = choices[0].value
    if not rows:
        context["can_enroll"] = False
        return context
    mailbox_id, member_id = chosen.sender_ids()
    try:
        checked = enrollment.check(
            viewer,
            sequence.pk,
            chosen.recipients(),
            mailbox_id=mailbox_id,
            member_id=member_id,
            clock=system_clock,
        )
    except InvalidInput as refused:
        context["sender_error"] = refused.message
        return context
    rows = [
        Row(r.person_id, r.person, r.addresses, outcome)
        for r, outcome in zip(rows, checked.outcomes, strict=True)
    ]
    accepted = [r for r in rows if not r.refused]
    context.update(
        rows=rows,
        accepted=len(accepted),
        refused_rows=[r for r in rows if r.refused],
        warnings=checked.warnings,
        can_enroll=bool(accepted),
    )
    shown = next((r for r in rows if r.person_id == chosen.preview), None)
    if shown is not None:
        context |= _preview(viewer, sequence, version, chosen, shown, request)
    return context


def _addresses(person: Person | None) -> list[EmailAddress]:
    return list(person.email_addresses.all()) if person is not None else []


def _render(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    # From a button through htmx: the dialog alone (or the part of it htmx selects).
    if request.headers.get("HX-Request") == "true":
        return render(request, "web/enroll/dialog.html#dialog", context, status=status)
    return render(request, "web/enroll/page.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@access_answers
def enroll_dialog(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    chosen = selection.read(data)
    if request.method == "GET" or chosen.sequence_id is None:
        return _render(request, dialog_context(request, chosen))
    viewer = signed_in_member(request)
    mailbox_id, member_id = chosen.sender_ids()
    if mailbox_id is None and member_id is None:
        # The service checks access first: a read-only member gets its 403 here too.
        access.require_level(viewer, chosen.sequence_id, Level.READ_WRITE)
        context = dialog_context(request, chosen)
        context["sender_error"] = "Choose who the emails are sent from."
        return _render(request, context, status=400)
    try:
        done = enrollment.enroll(
            viewer,
            chosen.sequence_id,
            chosen.recipients(),
            mailbox_id=mailbox_id,
            member_id=member_id,
            clock=system_clock,
        )
    except InvalidInput as refused:
        context = dialog_context(request, chosen)
        where = "sender_error" if (refused.field or "").startswith("sender") else "problem"
        context[where] = refused.message
        return _render(request, context, status=400)
    sequence, _ = access.require_level(viewer, chosen.sequence_id, Level.READ_WRITE)
    people = _people(chosen.person_ids)
    rows = [
        Row(o.person_id, people.get(o.person_id), _addresses(people.get(o.person_id)), o)
        for o in done.outcomes
    ]
    context = {
        "section": "sequences",
        "chosen": chosen,
        "in_dialog": data.get("in_dialog") == "1",
        "sequence": sequence,
        "done": True,
        "enrolled": [r for r in rows if not r.refused],
        "refused_rows": [r for r in rows if r.refused],
        "warnings": done.warnings,
    }
    return _render(request, context)
