"""Worked examples of the variable-path rules and their messages."""

from __future__ import annotations

from sequencer.domain.variables import StaticCatalog, check_variable, format_path

CATALOG = StaticCatalog(
    person=frozenset({"first_name", "email", "plan"}),
    company=frozenset({"name", "domain"}),
    list_attributes=frozenset({"stage", "plan"}),
)


def test_a_standard_variable_is_usable():
    assert check_variable(["person", "first_name"], CATALOG) is None
    assert check_variable(["company", "name"], CATALOG) is None


def test_an_attribute_on_both_a_person_and_a_list_is_the_person_one():
    assert check_variable(["person", "plan"], CATALOG) is None


def test_a_list_only_attribute_is_refused_with_its_own_code_whatever_the_root():
    for root in ("person", "company", "list", "entry"):
        problem = check_variable([root, "stage"], CATALOG)
        assert problem is not None
        assert problem.code == "list_attribute_variable"


def test_a_bare_attribute_name_suggests_the_full_path():
    problem = check_variable(["plan"], CATALOG)
    assert problem is not None
    assert "did you mean person.plan?" in problem.message


def test_a_bare_name_both_a_person_and_the_sender_have_suggests_both():
    problem = check_variable(["first_name"], CATALOG)
    assert problem is not None
    assert "did you mean person.first_name or sender.first_name?" in problem.message


def test_the_senders_fields_are_usable_in_any_workspace():
    for field in ("first_name", "last_name", "full_name", "email"):
        assert check_variable(["sender", field], CATALOG) is None
        assert check_variable(["sender", field], StaticCatalog()) is None


def test_an_unknown_sender_field_is_refused_listing_the_senders_fields():
    problem = check_variable(["sender", "job_title"], CATALOG)
    assert problem is not None
    assert problem.code == "unknown_variable"
    assert problem.message.startswith("{{ sender.job_title }} is not a sender field.")
    assert "sender.email, sender.first_name, sender.full_name, sender.last_name." in (
        problem.message
    )


def test_the_sender_alone_asks_for_a_field():
    problem = check_variable(["sender"], CATALOG)
    assert problem is not None
    assert problem.code == "incomplete_variable"
    assert "needs a field, e.g. {{ sender.first_name }}" in problem.message


def test_an_unknown_root_names_the_sender_among_the_roots():
    problem = check_variable(["me", "name"], CATALOG)
    assert problem is not None
    assert "use person.<attribute>, company.<attribute> or sender.<field>" in problem.message


def test_an_attribute_of_the_other_object_is_pointed_out():
    problem = check_variable(["person", "domain"], CATALOG)
    assert problem is not None
    assert "company.domain exists" in problem.message


def test_the_message_lists_people_then_companies_then_the_sender_sorted():
    problem = check_variable(["person", "nope"], CATALOG)
    assert problem is not None
    assert problem.message.endswith(
        "Available variables: person.email, person.first_name, person.plan, "
        "company.domain, company.name, sender.email, sender.first_name, "
        "sender.full_name, sender.last_name."
    )


def test_an_empty_catalog_still_offers_the_senders_fields():
    problem = check_variable(["person", "x"], StaticCatalog())
    assert problem is not None
    assert problem.message.endswith(
        "Available variables: sender.email, sender.first_name, sender.full_name, sender.last_name."
    )


def test_paths_are_spelled_as_liquid_writes_them():
    assert format_path(["person", "first_name"]) == "person.first_name"
    assert format_path(["person", "odd key"]) == "person['odd key']"
    assert format_path(["company", "domains", 0]) == "company.domains[0]"
    assert format_path(["person", ["company", "key"]]) == "person[company.key]"
