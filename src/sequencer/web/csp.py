"""The Content Security Policy middleware, with one looser policy for the API docs page.

Every page gets the strict policy in ``settings.CONTENT_SECURITY_POLICY``. The interactive
API docs at ``/api/v1/docs`` are Django Ninja's Swagger page, which today loads Swagger
UI from a public CDN and configures it in an inline script without a nonce. Until the
bundled assets are served from this server (issue 8), that page alone may load scripts,
styles and images over https and run its inline script; everything else in the policy
(no plugins, no ``<base>``, no framing, forms only to this server) still applies to it.
"""

from __future__ import annotations

from functools import cache

from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse

# No nonce here: a nonce in script-src makes browsers ignore 'unsafe-inline' (CSP 3).
API_DOCS_POLICY = {
    "script-src": [SELF, "https:", UNSAFE_INLINE],
    "style-src": [SELF, "https:", UNSAFE_INLINE],
    "img-src": [SELF, "https:", "data:"],
}


@cache
def _api_docs_path() -> str:
    return reverse("api:openapi-view")


class SequencerCSPMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if request.path_info == _api_docs_path() and parts.replace is None:
            parts.replace = API_DOCS_POLICY
        return parts
