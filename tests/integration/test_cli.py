import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from sequencer.cli import _unapplied_migrations, main
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


def test_serve_refuses_a_database_that_was_never_migrated(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["SEQUENCER_DATA_DIR"] = str(tmp_path / "data")

    result = subprocess.run(
        [sys.executable, "-m", "sequencer", "serve", "--no-worker", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "Run `sequencer migrate` first" in result.stderr
    assert "serving on" not in result.stdout


def test_a_migrated_database_lacks_no_migration():
    # The check serve makes passes on the test database, which pytest-django migrated.
    assert _unapplied_migrations() == 0


def test_token_create_read_only_makes_a_token_that_only_reads(admin):
    from sequencer.workspace.models import ApiToken

    result = run("token", "create", admin.email, "--name", "report", "--read-only")

    assert result.exit_code == 0, result.output
    assert ApiToken.objects.get(name="report").scope == "read_only"
    assert services.user_for_token(result.output.strip(), clock=system_clock) == admin
