"""Real-browser tests: Debian's Chromium driven by Playwright against a live server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page

# Playwright's sync API runs an event loop in the test's thread; the ORM calls made by
# fixtures in that same thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("SEQUENCER_CHROMIUM", "/usr/bin/chromium")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def base_url(pytestconfig: pytest.Config) -> str | None:
    """What pytest-playwright's fallback gives (``--base-url``, else the ``base_url`` ini
    value), from a plain fixture: the plugin defines its fallback as a method of a plugin
    object, which pytest deprecates (PytestRemovedIn10Warning) and ``filterwarnings =
    error`` turns into a failure."""
    return pytestconfig.getoption("--base-url") or pytestconfig.getini("base_url") or None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        message = f"Chromium is missing at {CHROMIUM}; `make test` installs it (Debian: chromium)."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def sign_in(live_server: Any, page: Any) -> Any:
    """Sign ``page`` in as a member by giving it a real session cookie."""
    from django.conf import settings
    from django.test import Client

    def sign(user: Any) -> None:
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        page.context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )

    return sign


AXE = Path(__file__).resolve().parents[1] / "peers" / "node_modules" / "axe-core" / "axe.min.js"

# Only the violations a person would be blocked by; axe's own impact levels.
_SERIOUS = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}"""


@pytest.fixture
def axe(page: Any) -> Any:
    """``axe(label)`` runs axe-core (from tests/peers) on the current page and fails on any
    serious or critical violation. The library is evaluated through the DevTools protocol,
    so the page's Content Security Policy stays as strict as in production."""
    if not AXE.exists():
        message = f"axe-core is missing at {AXE}; scripts/ensure-peers.sh installs it (npm ci)."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    source = AXE.read_text()

    def check(label: str) -> None:
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(source)
        violations = page.evaluate(_SERIOUS)
        assert violations == [], f"{label}: {violations}"

    return check


# Records what the Content Security Policy blocks, for the pages' tests that assert none.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
def violations(page: Page) -> Iterator[list[str]]:
    """What the policy blocked on the pages this test opens (console and DOM events)."""
    found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            found.append(message.text)

    page.on("console", on_console)
    page.add_init_script(RECORD_VIOLATIONS)
    yield found
    found.extend(page.evaluate("window.__cspViolations || []"))
