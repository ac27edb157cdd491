import pytest
from playwright.sync_api import Page, expect

from sequencer.workspace.models import User, Workspace

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_newcomer_creates_the_workspace_on_the_first_visit_and_signs_out_and_in(
    live_server, page: Page
):
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Welcome to Sequencer")).to_be_visible()

    page.get_by_label("Workspace name").fill("Acme Sales")
    page.get_by_label("Your name").fill("Ada")
    page.get_by_label("Your email").fill("ada@acme.test")
    page.get_by_label("Password").fill("a-long-passphrase")
    page.get_by_role("button", name="Create workspace").click()

    expect(page.get_by_role("heading", name="Acme Sales")).to_be_visible()
    assert Workspace.objects.get().name == "Acme Sales"
    assert User.objects.get(email="ada@acme.test").role == "admin"

    # The menu opens through shell.js, a deferred script: the heading can show first.
    page.wait_for_load_state()
    page.get_by_role("button", name="Account: Ada").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill("ada@acme.test")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match")

    page.get_by_label("Password").fill("a-long-passphrase")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Acme Sales")).to_be_visible()


def test_the_set_up_page_explains_a_bad_address_without_losing_the_other_fields(
    live_server, page: Page
):
    page.goto(live_server.url + "/setup/")
    page.get_by_label("Workspace name").fill("Acme")
    page.get_by_label("Your email").fill("not-an-address")
    page.get_by_label("Password").fill("a-long-passphrase")
    page.get_by_role("button", name="Create workspace").click()
    expect(page.get_by_role("alert").first).to_contain_text("valid email")
    expect(page.get_by_label("Workspace name")).to_have_value("Acme")
    assert not Workspace.objects.exists()
