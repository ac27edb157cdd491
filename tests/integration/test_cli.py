import pytest
from click.testing import CliRunner

from sequencer.cli import main
from sequencer.clock import system_clock
from sequencer.workspace import services
from sequencer.workspace.models import User, Workspace

pytestmark = pytest.mark.django_db


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_the_first_user_created_from_the_cli_sets_the_workspace_up_as_admin():
    result = run("user", "create", "ops@acme.test", "--password", "a-long-passphrase")
    assert result.exit_code == 0, result.output
    assert Workspace.objects.exists()
    assert User.objects.get(email="ops@acme.test").role == "admin"


def test_later_users_are_members_unless_made_admin(admin):
    assert run("user", "create", "m@acme.test", "--password", "a-long-passphrase").exit_code == 0
    assert (
        run("user", "create", "a@acme.test", "--password", "a-long-passphrase", "--admin").exit_code
        == 0
    )
    assert User.objects.get(email="m@acme.test").role == "member"
    assert User.objects.get(email="a@acme.test").role == "admin"


def test_a_bad_address_is_reported_with_the_field():
    result = CliRunner().invoke(main, ["user", "create", "nope", "--password", "x" * 12])
    assert result.exit_code != 0
    assert "email" in result.output


def test_token_create_prints_only_a_working_token(admin):
    result = run("token", "create", admin.email)
    assert result.exit_code == 0
    token = result.output.strip()
    assert "\n" not in token
    assert services.user_for_token(token, clock=system_clock) == admin


def test_token_create_for_an_unknown_member_fails():
    result = CliRunner().invoke(main, ["token", "create", "ghost@acme.test"])
    assert result.exit_code == 1
    assert "ghost@acme.test" in result.output
