"""Templates cost linear time and bounded memory, whatever a member writes.

Security finding 3: a 32 KB body of ``{{`` took over a minute to save and to read.
Finding 4: ``(1..3000000) | join`` published and took half a gigabyte to preview.
Finding 5: ``divided_by: 0`` published and then failed every render outside RenderError.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from liquid.exceptions import LiquidError
from liquid.lex import get_lexer

from sequencer.domain.variables import StaticCatalog
from sequencer.sequences import templating
from sequencer.sequences.html import sanitize_html
from sequencer.sequences.liquid_lexer import (
    expression_work,
    lexing_work,
    markup_spans,
    tokenize,
)
from sequencer.sequences.template_limits import MAX_RANGE
from sequencer.sequences.templating import (
    RenderError,
    ai_prompts,
    compile_template,
    render,
    template_errors,
)

CATALOG = StaticCatalog(person=frozenset({"first_name", "n"}), company=frozenset({"name"}))

ATOMS = [
    "{{", "}}", "{%", "%}", "-", " ", "\n", "x", "raw", "endraw", "doc", "enddoc",
    "comment", "endcomment", "#", "if", "{", "}", "%", "\t", "ai", "endai", "'", '"',
]  # fmt: skip

# Bodies that made the old lexers (ours and python-liquid's) scan to the end again from
# every position.
WORST_UNITS = [
    "{{", "{%", "{{{{", "{{ x", "{{-", "{%-  ", "{% ai %}", "{% raw %}", "{% doc %}",
    "{% comment %}", "{% if x %}", "{{ x }", "{{ (", '{{ x[ "', "<", "src=  ",
]  # fmt: skip
# Expressions python-liquid's expression lexer reads in quadratic time.
WORST_EXPRESSIONS: list[Callable[[int], str]] = [
    lambda k: "{{ " + "(" * k + "1..2)" + "..3)" * (k - 1) + " }}",
    lambda k: "{{ person.n" + '[ "a"' * k + " }}",
    lambda k: "{% liquid echo x" + " " * k + "y %}",
]


@contextmanager
def hang_guard(seconds: int = 30) -> Iterator[None]:
    """Fails a test that runs away; a generous bound, not a timing assertion."""

    def stop(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s: not linear")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _tokens(lexer: Callable[[str], object], source: str) -> object:
    try:
        return [(t.kind, t.value, t.start_index) for t in lexer(source)]  # type: ignore[attr-defined]
    except LiquidError as exc:
        return ("error", str(exc.message), exc.token.start_index if exc.token else None)


@settings(max_examples=2000)
@given(st.lists(st.sampled_from(ATOMS), max_size=16).map("".join))
@example("{{ x -}}abc\n")
@example("{% raw %}{{ x }}{% endraw %}{%- doc -%}d{% enddoc %}")
@example("{{{{ x }}")
def test_the_linear_lexer_finds_exactly_python_liquids_tokens(source):
    assert _tokens(tokenize, source) == _tokens(get_lexer(), source)


@given(st.lists(st.sampled_from(ATOMS), max_size=16).map("".join))
def test_markup_is_found_where_the_first_closer_after_each_opener_is(source):
    import re

    lazy = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)  # the old, quadratic rule
    assert list(markup_spans(source)) == [m.span() for m in lazy.finditer(source)]


@pytest.mark.parametrize("unit", WORST_UNITS)
def test_lexing_work_doubles_when_the_body_doubles(unit):
    small = unit * (32 * 1024 // len(unit))
    large = small + small
    assert lexing_work(large) <= 2.1 * lexing_work(small)
    assert lexing_work(large) <= 4 * len(large)


@pytest.mark.parametrize("unit", WORST_UNITS)
def test_saving_reading_and_rendering_a_64_kb_worst_case_body_finishes(unit):
    body = unit * (64 * 1024 // len(unit))
    with hang_guard():
        try:
            saved = sanitize_html(body)
        except Exception:  # refused as unsafe is fine; it must only be quick
            saved = body
        template_errors(saved, html=True, catalog=CATALOG)
        ai_prompts(saved)
        with suppress(RenderError):
            render(saved, {"person": {"n": 1}}, html=True, strict=True)


@pytest.mark.parametrize("build", WORST_EXPRESSIONS)
def test_an_expression_too_costly_to_read_is_refused_quickly(build):
    with hang_guard():
        errors = template_errors(build(20_000), html=True, catalog=CATALOG)
    assert [e.code for e in errors] == ["template_syntax"]


def test_expression_work_counts_each_scan_for_a_range_or_a_quoted_key():
    assert expression_work("(1..3)") == 2  # the ".." is found right away
    assert expression_work("x[ 'a' ]") == 4
    nested = "(" * 100 + "1..2)" + "..3)" * 99
    assert expression_work(nested) > 100 * 100 // 2
    # An ordinary template is far below the budget.
    assert expression_work('person.first_name | default: "(there)"') < 100


def test_a_source_is_compiled_once_whether_it_compiles_or_not():
    templating._CACHE.clear()
    before = templating._CACHE.compiles
    broken = "{{" * 1000
    for _ in range(3):
        with pytest.raises(LiquidError):
            compile_template(broken, html=True)
        compile_template("<p>{{ person.first_name }}</p>", html=True)
    assert templating._CACHE.compiles - before == 2


def test_reading_the_ai_prompts_compiles_nothing():
    templating._CACHE.clear()
    before = templating._CACHE.compiles
    prompts = ai_prompts("{%" * 500 + "{% ai %}About {{ company.name }}{% endai %}")
    assert prompts == ["About {{ company.name }}"]
    assert templating._CACHE.compiles == before


def test_ai_prompts_in_comments_and_raw_blocks_are_not_prompts():
    source = (
        "{% comment %}{% ai %}no{% endai %}{% endcomment %}"
        "{% raw %}{% ai %}no{% endai %}{% endraw %}"
        "{%- ai fallback: 'f' -%}yes{%- endai -%}"
    )
    assert ai_prompts(source) == ["yes"]


def test_the_cache_keeps_a_bounded_number_of_characters():
    cache = templating._CompileCache(max_entries=10, max_chars=100)
    for i in range(50):
        with pytest.raises(LiquidError):
            cache.get("{{" * 20 + str(i), True, False)
    assert len(cache._entries) <= 10 and cache._chars <= 100


# --- Ranges and what filters build ----------------------------------------------------


def test_a_literal_range_too_long_is_refused_at_publish():
    errors = template_errors('{{ (1..3000000) | join: "" | size }}', html=True, catalog=CATALOG)
    assert [(e.code, e.line) for e in errors] == [("range_too_long", 1)]
    assert f"at most {MAX_RANGE}" in errors[0].message
    assert (
        template_errors("{% for i in (1..10) %}{{ i }}{% endfor %}", html=True, catalog=CATALOG)
        == []
    )


def test_a_range_from_a_value_fails_the_render_without_building_it():
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(RenderError, match="a range of 3000000 numbers is too long"):
            render('{{ (1..person.n) | join: "" | size }}', {"person": {"n": 3_000_000}}, html=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024


def test_a_filter_that_would_build_too_much_is_refused():
    data = {"person": {"n": "x" * 2000}}
    with pytest.raises(RenderError, match="could build more than"):
        render("{{ (1..9000) | join: person.n }}", data, html=False)
    assert render('{{ (1..3) | join: "-" }}', {}, html=False) == "1-2-3"


@pytest.mark.parametrize(
    "source",
    [
        "{{ 1 | divided_by: 0 }}",
        "{{ 1 | modulo: 0.0 }}",
        '{{ 5 | divided_by: "zero" }}',
        "{{ 5 | plus: 1 | divided_by: nil }}",
    ],
)
def test_a_division_by_a_literal_zero_is_refused_at_publish(source):
    errors = template_errors(f"<p>\n{source}</p>", html=True, catalog=CATALOG)
    assert [(e.code, e.line) for e in errors] == [("division_by_zero", 2)]


def test_a_division_by_a_value_is_allowed_and_fails_only_the_render_that_hits_zero():
    source = "{{ 10 | divided_by: person.n }}"
    assert template_errors(source, html=True, catalog=CATALOG) == []
    assert render(source, {"person": {"n": 5}}, html=True) == "2"
    with pytest.raises(RenderError, match="can't divide by 0 \\(line 1\\)"):
        render(source, {"person": {"n": 0}}, html=True)


@pytest.mark.parametrize(
    "source",
    [
        "{{ 10 | divided_by: person.n }}",
        "{% for i in (1..100) %}{% for j in (1..100) %}x{% endfor %}{% endfor %}",
        "{{ person.n | append: 'x' | times: 10 | divided_by: 0.0 }}",
        "{{ 10 | modulo: person.n }}",
        "{{",
    ],
)
def test_every_render_failure_is_a_render_error(source):
    with pytest.raises(RenderError):
        render(source, {"person": {"n": 0}}, html=True, strict=True)


def test_an_ai_slot_without_text_or_fallback_stops_a_strict_render():
    source = "<p>Hi,{% ai %}A line about {{ company.name }}{% endai %} Thanks</p>"
    with pytest.raises(templating.AiTextMissing):
        render(source, {"company": {"name": "Initech"}}, html=True, strict=True)
    # A lenient render (the preview's second look) leaves the slot empty.
    assert render(source, {}, html=True) == "<p>Hi, Thanks</p>"
    fallback = '<p>Hi,{% ai fallback: " hello." %}x{% endai %}</p>'
    assert render(fallback, {}, html=True, strict=True) == "<p>Hi, hello.</p>"


def test_steps_with_an_ai_slot_and_no_fallback_are_named_before_anyone_waits():
    from sequencer.sequences.rendering import steps_waiting_for_ai_text

    snapshot = {
        "settings": {"thread_emails": True},
        "steps": [
            {"subject": "Hi", "body_html": "<p>plain</p>"},
            {"subject": "{% ai %}x{% endai %}", "body_html": "<p>threaded: subject unused</p>"},
            {"subject": "", "body_html": '<p>{% ai fallback: "ok" %}x{% endai %}</p>'},
            {"subject": "", "body_html": "<p>{%- ai -%}x{% endai %}</p>"},
        ],
    }
    assert steps_waiting_for_ai_text(snapshot) == [3]
