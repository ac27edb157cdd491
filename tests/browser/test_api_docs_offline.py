"""The API docs page works without the internet and under the strict policy."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route, expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_docs_list_the_operations_with_no_other_host_reachable(live_server, page: Page):
    elsewhere: list[str] = []
    violations: list[str] = []

    def only_this_server(route: Route) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    # As offline: any request to another host fails.
    page.route("**/*", only_this_server)
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(live_server.url + "/api/v1/docs")

    expect(page.get_by_role("heading", name="Sequencer API")).to_be_visible()
    expect(page.get_by_text("/api/v1/schedule-preview").first).to_be_visible()
    expect(page.get_by_text("/api/v1/sequences/{sequence_id}/access").first).to_be_visible()
    assert elsewhere == []
    assert violations == []
