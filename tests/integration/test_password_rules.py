"""A member's password cannot be their own address, on every path that sets one."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from django.test import Client

from sequencer.cli import main
from sequencer.workspace.models import User, Workspace

pytestmark = pytest.mark.django_db


def test_the_set_up_page_refuses_the_admin_address_as_password_and_says_why():
    response = Client().post(
        "/setup/",
        {
            "workspace_name": "Acme",
            "email": "ada.lovelace@acme.test",
            "password": "ada.lovelace@acme.test",
        },
    )
    assert response.status_code == 200
    assert "too similar to the email" in response.content.decode()
    assert not Workspace.objects.exists()


def test_the_cli_refuses_a_password_equal_to_the_address_naming_the_field():
    result = CliRunner().invoke(
        main, ["user", "create", "ops.team@acme.test", "--password", "ops.team@acme.test"]
    )
    assert result.exit_code != 0
    assert "password" in result.output
    assert not User.objects.filter(email="ops.team@acme.test").exists()


def test_the_api_refuses_a_member_whose_password_is_their_address(api):
    response = api.post(
        "members", {"email": "bob.builder@acme.test", "password": "Bob.Builder@acme.test"}
    )
    assert response.status_code == 400
    assert response.data["error"]["field"] == "password"
    assert not User.objects.filter(email="bob.builder@acme.test").exists()


def test_a_password_unlike_the_address_is_still_accepted(api):
    response = api.post(
        "members", {"email": "bob.builder@acme.test", "password": "a-long-passphrase"}
    )
    assert response.status_code == 201
