"""Settings, Outbox: the emails waiting to go out from the member's mailboxes (an
admin's: every mailbox), when each will go out and why it waits.

The times and reasons come from :mod:`sequencer.engine.outbox`, which asks the rules
the engine asks before sending; this page only shows them. ``?mailbox=<id>`` narrows it
to one mailbox (a mailbox the member may not see is a 404).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sequencer.clock import system_clock
from sequencer.engine.outbox import outbox
from sequencer.mail import mailboxes
from sequencer.web.members import signed_in_member

# The soonest this many queued emails are listed; the counts cover them all.
SHOWN = 100


@require_GET
@login_required
def outbox_page(request: HttpRequest) -> HttpResponse:
    viewer = signed_in_member(request)
    visible = list(mailboxes.visible_mailboxes(viewer).order_by("owner__email", "email", "id"))
    chosen = None
    raw = request.GET.get("mailbox", "")
    if raw:
        chosen = next((m for m in visible if raw.isdigit() and m.pk == int(raw)), None)
        if chosen is None:
            raise Http404("No such mailbox.")
    queues = outbox([chosen] if chosen else visible, system_clock, shown=SHOWN)
    context = {
        "section": "settings",
        "settings_section": "outbox",
        "mailboxes": visible,
        "chosen": chosen,
        "queues": queues,
        "total": sum(q.queued for q in queues),
        "shown": SHOWN,
    }
    return render(request, "web/settings/outbox.html", context)
