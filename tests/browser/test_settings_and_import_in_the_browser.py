"""Settings and the CSV import in a real browser: a token seen once, a suppression lifted
with a reason, a file of five people with one bad row."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from sequencer.clock import system_clock
from sequencer.crm.models import EmailAddress
from sequencer.sequences import suppression
from sequencer.workspace import services
from sequencer.workspace.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Views at 1280 and 390 px, looked at while developing, not kept in the docs.
NARROW = os.environ.get("SEQUENCER_NARROW_SCREENSHOTS")


def _narrow(page: Page, name: str) -> None:
    if NARROW:
        page.screenshot(path=f"{NARROW}/wide-{name}", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    if NARROW:
        page.screenshot(path=f"{NARROW}/{name}", full_page=True)


def test_a_new_api_token_is_shown_once_with_a_copy_button(
    live_server, page: Page, admin, sign_in, axe
):
    sign_in(admin)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/settings/tokens/")
    expect(page.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    expect(page.get_by_text("No tokens yet")).to_be_visible()
    axe("tokens, none yet")

    page.get_by_role("textbox", name="Token name").fill("Nightly CRM sync")
    page.get_by_role("button", name="Create token").click()
    secret_box = page.get_by_role("textbox", name="Token", exact=True)
    secret = secret_box.input_value()
    assert services.user_for_token(secret, clock=system_clock) == admin
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    page.get_by_role("button", name="Copy token").click()
    expect(page.locator("#copy-status")).not_to_be_empty()
    expect(page.get_by_role("row", name="Nightly CRM sync")).to_contain_text("Never")
    axe("tokens, a new one")
    _narrow(page, "tokens-390.png")
    axe("tokens on a phone")

    page.goto(live_server.url + "/settings/tokens/")
    expect(page.get_by_role("row", name="Nightly CRM sync")).to_be_visible()
    assert secret not in page.content()

    page.get_by_role("button", name="Revoke Nightly CRM sync").click()
    dialog = page.get_by_role("dialog", name="Revoke “Nightly CRM sync”?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Revoke token").click()
    expect(page.get_by_role("status").first).to_contain_text("Revoked “Nightly CRM sync”")
    assert services.user_for_token(secret, clock=system_clock) is None


def test_an_admin_lifts_a_suppression_with_a_reason(live_server, page: Page, admin, sign_in, axe):
    mia = services.create_user("mia@acme.test", "a-long-passphrase", name="Mia Member")
    for recipient, sender, reason, source, member in [
        ("bob@client.test", "ada@acme.test", "unsubscribed", "one-click", admin),
        ("carla@bigcorp.test", "mia@acme.test", "asked_to_stop", "reply", mia),
        ("old-address@gone.test", "ada@acme.test", "bounced", "", None),
        ("dan@client.test", "mia@acme.test", "unsubscribed", "unsubscribe page", mia),
    ]:
        suppression.suppress(
            sender,
            recipient,
            reason=reason,
            source=source,
            member_id=member.pk if member else None,
            clock=system_clock,
        )
    earlier = suppression.suppress(
        "ada@acme.test", "eve@client.test", reason="unsubscribed", clock=system_clock
    )
    suppression.lift(
        earlier.pk, admin, note="Signed up again at the trade fair", clock=system_clock
    )
    sign_in(admin)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/settings/suppressions/")
    expect(page.get_by_role("heading", name="Suppressions", level=1)).to_be_visible()
    axe("suppressions")

    page.get_by_role("searchbox", name="Search by address").fill("bob")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("row")).to_have_count(2)  # the header and bob
    page.get_by_role("button", name="Lift suppression of bob@client.test").click()
    dialog = page.get_by_role("dialog", name="Lift the suppression of bob@client.test?")
    expect(dialog.get_by_role("textbox", name="Reason for lifting")).to_be_focused()
    axe("lift dialog")
    dialog.get_by_role("textbox", name="Reason for lifting").fill(
        "Asked by phone on 3 May to hear from us again"
    )
    dialog.get_by_role("button", name="Lift suppression").click()

    expect(page.get_by_role("status").first).to_have_text(
        "Lifted: bob@client.test may be emailed from ada@acme.test again."
    )
    log = page.get_by_role("list", name="Audit log of lifts")
    expect(log.get_by_role("listitem").first).to_contain_text("Asked by phone on 3 May")
    assert not suppression.is_suppressed("ada@acme.test", "bob@client.test", member_id=admin.pk)
    assert AuditEntry.objects.filter(action="suppression.lifted").count() == 2

    page.goto(live_server.url + "/settings/suppressions/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "suppressions.png"), full_page=True)
    _narrow(page, "suppressions-390.png")
    axe("suppressions on a phone")


FIVE_PEOPLE = (
    "Email,First name,Last name,Job title,Company\n"
    "ann.archer@client.test,Ann,Archer,Head of Sales,Client Co\n"
    "bob.baker@client.test,Bob,Baker,CTO,Client Co\n"
    "cy.cole(at)client.test,Cy,Cole,Buyer,Client Co\n"
    "dee.dunn@bigcorp.test,Dee,Dunn,COO,BigCorp\n"
    "eve.evans@bigcorp.test,Eve,Evans,Founder,BigCorp\n"
)


def test_importing_5_people_with_a_bad_row_imports_4_and_reports_the_bad_one(
    live_server, page: Page, admin, sign_in, axe, monkeypatch
):
    from sequencer.crm.importing import jobs

    # Two rows a request, so that the page polls three times before the report.
    monkeypatch.setattr(jobs.advance, "__kwdefaults__", {"piece": 2})
    sign_in(admin)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/import/?object=people")
    expect(page.get_by_role("radio", name="People")).to_be_checked()
    axe("import upload")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "trade-fair.csv", "mimeType": "text/csv", "buffer": FIVE_PEOPLE.encode()}]
    )
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Check the columns")).to_be_visible()
    expect(page.get_by_role("combobox", name="Import “Email” as")).to_have_value("email")
    expect(page.get_by_role("combobox", name="Import “Job title” as")).to_have_value("job_title")
    expect(page.get_by_role("region", name="First rows of 5")).to_contain_text(
        "cy.cole(at)client.test"
    )
    axe("import mapping")
    _narrow(page, "import-mapping-390.png")
    axe("import mapping on a phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Import 5 rows").click()

    expect(page.get_by_role("heading", name="Import finished")).to_be_visible()
    expect(page.locator(".report-counts")).to_contain_text("4 imported")
    expect(page.locator(".report-counts")).to_contain_text("1 row not imported")
    errors = page.get_by_role("table", name="Rows not imported")
    expect(errors.get_by_role("row")).to_have_count(2)
    bad = errors.get_by_role("row").nth(1)
    expect(bad.get_by_role("cell").nth(0)).to_have_text("4")
    expect(bad.get_by_role("cell").nth(1)).to_have_text("Email")
    expect(bad.get_by_role("cell").nth(2)).to_contain_text("cy.cole(at)client.test")
    axe("import report")
    assert EmailAddress.objects.count() == 4
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "import-report.png"), full_page=True)
    _narrow(page, "import-report-390.png")
    axe("import report on a phone")


def test_an_admin_adds_a_member_and_puts_them_in_a_new_team(
    live_server, page: Page, admin, sign_in, axe
):
    sign_in(admin)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/settings/members/")
    expect(page.get_by_role("heading", name="Members and teams", level=1)).to_be_visible()
    axe("members")

    page.get_by_role("textbox", name="Email", exact=True).fill("mia@acme.test")
    page.get_by_role("textbox", name="Name", exact=True).fill("Mia Member")
    page.get_by_label("First password").fill("a-long-passphrase")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("status").first).to_contain_text("Added Mia Member.")
    expect(page.get_by_role("row", name="Mia Member")).to_contain_text("Member")

    page.get_by_role("textbox", name="Team name").fill("Sales")
    page.get_by_role("group", name="Members", exact=True).get_by_role(
        "checkbox", name="Mia Member"
    ).check()
    page.get_by_role("button", name="Make team").click()
    expect(page.get_by_role("status").first).to_contain_text("Created the team “Sales”.")
    expect(page.get_by_role("listitem").filter(has_text="Sales")).to_contain_text("Mia Member")

    page.get_by_role("button", name="Make Mia Member admin").click()
    expect(page.get_by_role("status").first).to_have_text("Mia Member is now an admin.")
    axe("members after changes")
    _narrow(page, "members-390.png")
    axe("members on a phone")
