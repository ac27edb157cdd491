"""The page behind a mailbox proof link (see :mod:`sequencer.mail.proof`).

The link was emailed to the mailbox's address; whoever opens it received mail there,
which is what it proves, so no sign-in is needed. ``GET`` only shows a button: link
scanners of mail systems follow links, and a GET that proved would prove for them.
``POST`` (with the page's CSRF token) proves.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from sequencer.clock import system_clock
from sequencer.mail import proof


@require_http_methods(["GET", "POST"])
def prove(request: HttpRequest, token: str) -> HttpResponse:
    claim = proof.read_proof_token(token, system_clock)
    mailbox = proof.mailbox_of_claim(claim) if claim is not None else None
    if mailbox is None:
        return render(request, "web/mailbox_proof_invalid.html", status=404)
    if request.method == "POST":
        proven = proof.redeem_proof_token(token, system_clock)
        if proven is None:
            return render(request, "web/mailbox_proof_invalid.html", status=404)
        return render(request, "web/mailbox_proven.html", {"mailbox": proven})
    return render(
        request, "web/mailbox_proof_confirm.html", {"mailbox": mailbox, "owner": mailbox.owner}
    )
