"""Where the unsubscribe link of a preview leads: it says it is a preview.

Previews never carry a working unsubscribe token (whoever looks at a preview is not the
recipient), so this page changes nothing.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def preview(request: HttpRequest) -> HttpResponse:
    return render(request, "web/unsubscribe_preview.html")
