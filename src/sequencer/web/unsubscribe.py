"""The public unsubscribe page behind every email's link (no sign-in).

``GET`` only shows a confirmation button: mail security scanners follow links in
incoming mail, and a GET that unsubscribed would unsubscribe people who never clicked.
``POST`` unsubscribes, both from the button and from a mail client's RFC 8058 one-click
request (body ``List-Unsubscribe=One-Click``, no cookies, so no CSRF token either).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sequencer.clock import system_clock
from sequencer.sequences import suppression


@csrf_exempt  # the token itself is the proof; RFC 8058 requests carry no cookies
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    claim = suppression.read_unsubscribe_token(token)
    if claim is None:
        return render(request, "web/unsubscribe_invalid.html", status=404)
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        suppression.unsubscribe(
            claim, source="one-click" if one_click else "unsubscribe page", clock=system_clock
        )
        return render(request, "web/unsubscribed.html", {"claim": claim})
    return render(request, "web/unsubscribe_confirm.html", {"claim": claim})
