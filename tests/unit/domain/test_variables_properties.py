"""Properties of the variable-path rules, over generated catalogs and paths."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.sender import SENDER_VARIABLES
from sequencer.domain.variables import (
    ROOTS,
    StaticCatalog,
    available_variables,
    check_variable,
    check_variables,
    describe_available,
    format_path,
)

slugs = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
slug_sets = st.frozensets(slugs, max_size=8)
catalogs = st.builds(StaticCatalog, person=slug_sets, company=slug_sets, list_attributes=slug_sets)
tails = st.lists(st.one_of(slugs, st.integers(0, 5)), max_size=3)


@given(catalogs, st.data(), tails)
def test_every_catalog_attribute_is_usable_with_any_tail(catalog, data, tail):
    usable = [("person", s) for s in catalog.person] + [("company", s) for s in catalog.company]
    if not usable:
        return
    root, slug = data.draw(st.sampled_from(sorted(usable)))
    assert check_variable([root, slug, *tail], catalog) is None


@given(catalogs, st.sampled_from(ROOTS), slugs)
def test_an_attribute_missing_from_the_catalog_is_refused_naming_the_path(catalog, root, slug):
    known = {"person": catalog.person, "company": catalog.company, "sender": SENDER_VARIABLES}[root]
    problem = check_variable([root, slug], catalog)
    if slug in known:
        assert problem is None
        return
    assert problem is not None
    assert problem.path == f"{root}.{slug}"
    assert f"{root}.{slug}" in problem.message
    expected = (
        "list_attribute_variable"
        if slug in catalog.list_attributes
        and slug not in catalog.person
        and slug not in catalog.company
        else "unknown_variable"
    )
    assert problem.code == expected


@given(catalogs, st.sampled_from(ROOTS), slugs)
def test_an_unknown_variable_lists_what_is_available(catalog, root, slug):
    problem = check_variable([root, slug], catalog)
    if problem is None or problem.code != "unknown_variable":
        return
    assert describe_available(catalog) in problem.message
    for name in available_variables(catalog)[:40]:
        assert name in problem.message


@given(catalogs, slugs.filter(lambda s: s not in ROOTS), tails)
def test_any_other_root_is_never_usable(catalog, root, tail):
    problem = check_variable([root, *tail], catalog)
    assert problem is not None
    assert problem.code in {"unknown_variable", "list_attribute_variable"}


@given(catalogs, st.sampled_from(ROOTS))
def test_a_root_alone_names_no_attribute(catalog, root):
    problem = check_variable([root], catalog)
    assert problem is not None
    assert problem.code == "incomplete_variable"


@given(catalogs, st.sampled_from(ROOTS), st.one_of(st.integers(0, 9), st.just(["company", "x"])))
def test_an_index_or_a_nested_variable_is_not_an_attribute(catalog, root, segment):
    problem = check_variable([root, segment], catalog)
    assert problem is not None
    assert problem.code == "unknown_variable"


@given(catalogs, st.lists(st.tuples(st.sampled_from(ROOTS), slugs), max_size=10))
def test_check_variables_reports_each_bad_path_once_in_order(catalog, pairs):
    paths = [[root, slug] for root, slug in pairs] * 2
    problems = check_variables(paths, catalog)
    reported = [p.path for p in problems]
    assert len(reported) == len(set(reported))
    expected = [format_path(path) for path in paths if check_variable(path, catalog) is not None]
    assert reported == list(dict.fromkeys(expected))


@given(catalogs, st.sampled_from(ROOTS), slugs)
def test_the_verdict_does_not_depend_on_anything_but_the_path_and_catalog(catalog, root, slug):
    assert check_variable([root, slug], catalog) == check_variable([root, slug], catalog)


@given(st.sampled_from(ROOTS), slugs, tails)
def test_a_formatted_path_reads_as_liquid(root, slug, tail):
    text = format_path([root, slug, *tail])
    assert text.startswith(f"{root}.{slug}")
    for segment in tail:
        assert (f".{segment}" if isinstance(segment, str) else f"[{segment}]") in text
