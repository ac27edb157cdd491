import pytest
from django.test import Client

from sequencer.workspace.models import User

pytestmark = pytest.mark.django_db


def test_the_first_visit_leads_to_the_set_up_page():
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/setup/"


def test_once_set_up_the_set_up_page_cannot_create_a_second_admin(admin):
    client = Client()
    response = client.post(
        "/setup/",
        {"workspace_name": "Evil", "email": "evil@x.test", "password": "a-long-passphrase"},
    )
    assert response.status_code == 302
    assert not User.objects.filter(email="evil@x.test").exists()


def test_a_signed_out_visitor_is_sent_to_sign_in(admin):
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_sign_out_needs_a_post_so_a_link_cannot_sign_someone_out(admin):
    client = Client()
    client.force_login(admin)
    assert client.get("/logout/").status_code == 405
