"""The pages work under their Content Security Policy: the browser reports no violation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

pytestmark = pytest.mark.django_db(transaction=True)

# Collected in the page before any of its own scripts run, from the first document on.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
def violations(page: Page) -> Iterator[list[str]]:
    found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.on("console", on_console)
    page.add_init_script(RECORD_VIOLATIONS)
    yield found


def _page_violations(page: Page) -> list[str]:
    return list(page.evaluate("window.__cspViolations || []"))


def test_set_up_sign_in_and_home_raise_no_policy_violation(live_server, page: Page, violations):
    response = page.goto(live_server.url + "/setup/")
    assert response is not None
    assert "default-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="Welcome to Sequencer")).to_be_visible()
    # The stylesheet really applied: the policy lets this server's own CSS in.
    assert page.evaluate("document.styleSheets.length") >= 1
    assert _page_violations(page) == []

    page.get_by_label("Workspace name").fill("Acme Sales")
    page.get_by_label("Your email").fill("ada@acme.test")
    page.get_by_label("Password").fill("a-long-passphrase")
    page.get_by_role("button", name="Create workspace").click()
    expect(page.get_by_role("heading", name="Acme Sales")).to_be_visible()
    assert _page_violations(page) == []

    # The menu opens through shell.js, a deferred script: the heading can show first.
    page.wait_for_load_state()
    page.get_by_role("button", name="Account: Ada").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert _page_violations(page) == []
    page.get_by_label("Email").fill("ada@acme.test")
    page.get_by_label("Password").fill("a-long-passphrase")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Acme Sales")).to_be_visible()
    assert _page_violations(page) == []
    assert violations == []


def test_an_inline_script_without_the_nonce_is_blocked(live_server, page: Page, violations):
    page.goto(live_server.url + "/setup/")
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.__injected = true";
                   document.body.appendChild(s); }"""
    )
    assert page.evaluate("window.__injected === true") is False
    assert any("script-src" in v for v in _page_violations(page))
