"""Text no database can store (a lone UTF-16 surrogate; NUL, which PostgreSQL refuses)
is a 400 naming the field, on every endpoint, never a server error."""

import json

import pytest

pytestmark = pytest.mark.django_db

# json.dumps writes both as escapes ("\ud800", "\u0000"): valid JSON, as a client sends it.
LONE_SURROGATE = "Ada\ud800"
NUL = "Ada\x00"

BODIES = [
    ("people", lambda t: {"email_addresses": ["p@x.test"], "first_name": t}, "first_name"),
    (
        "people",
        lambda t: {"email_addresses": ["p@x.test"], "attributes": {"nickname": t}},
        "attributes.nickname",
    ),
    ("people", lambda t: {"email_addresses": [t]}, "email_addresses.0"),
    ("companies", lambda t: {"name": t}, "name"),
    ("lists", lambda t: {"name": t}, "name"),
    ("sequences", lambda t: {"name": "S", "steps": [{"subject": t}]}, "steps.0.subject"),
    ("templates", lambda t: {"name": t}, "name"),
    ("teams", lambda t: {"name": t}, "name"),
    (
        "attributes",
        lambda t: {"object": "people", "slug": "x", "title": t, "type": "text"},
        "title",
    ),
    (
        "mailboxes",
        lambda t: {"email": "a@x.test", "smtp": {"host": "h.test"}, "display_name": t},
        "display_name",
    ),
    (
        "mailboxes",
        lambda t: {"email": "a@x.test", "smtp": {"host": "h.test", "password": t}},
        "smtp.password",
    ),
]


@pytest.mark.parametrize("text", [LONE_SURROGATE, NUL], ids=["lone surrogate", "NUL"])
@pytest.mark.parametrize(("collection", "body", "field"), BODIES)
def test_unstorable_text_in_a_body_is_a_400_naming_the_field(api, collection, body, field, text):
    sent = body(text)
    assert "\\u" in json.dumps(sent)
    response = api.post(collection, sent)
    assert response.status_code == 400, response.content
    error = response.data["error"]
    assert (error["code"], error["field"]) == ("unstorable_text", field)
    assert "remove it" in error["message"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("people?q=a%00b", "q"),
        ("companies?domain=%00", "domain"),
        ("suppressions?sender=%00", "sender"),
    ],
)
def test_a_nul_in_a_query_parameter_is_a_400_naming_it(api, path, field):
    response = api.get(path)
    assert response.status_code == 400
    assert response.data["error"]["field"] == field
