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
    problem = check_variable(["first_name"], CATALOG)
    assert problem is not None
    assert "did you mean person.first_name?" in problem.message


def test_an_attribute_of_the_other_object_is_pointed_out():
    problem = check_variable(["person", "domain"], CATALOG)
    assert problem is not None
    assert "company.domain exists" in problem.message


def test_the_message_lists_people_then_companies_sorted():
    problem = check_variable(["person", "nope"], CATALOG)
    assert problem is not None
    assert problem.message.endswith(
        "Available variables: person.email, person.first_name, person.plan, "
        "company.domain, company.name."
    )


def test_an_empty_catalog_says_attributes_must_be_created_first():
    problem = check_variable(["person", "x"], StaticCatalog())
    assert problem is not None
    assert "create one first" in problem.message


def test_paths_are_spelled_as_liquid_writes_them():
    assert format_path(["person", "first_name"]) == "person.first_name"
    assert format_path(["person", "odd key"]) == "person['odd key']"
    assert format_path(["company", "domains", 0]) == "company.domains[0]"
    assert format_path(["person", ["company", "key"]]) == "person[company.key]"
