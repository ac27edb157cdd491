"""The Liquid sandbox: checks before publishing, AI variables and rendering."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.errors import InvalidInput
from sequencer.domain.variables import StaticCatalog
from sequencer.sequences.templating import (
    RenderError,
    ai_prompts,
    check_template,
    render,
    render_html_body,
    render_subject,
    template_errors,
    variable_paths,
)

CATALOG = StaticCatalog(
    person=frozenset({"first_name", "email"}),
    company=frozenset({"name"}),
    list_attributes=frozenset({"stage"}),
)


def _codes(source, html=True):
    return [e.code for e in template_errors(source, html=html, catalog=CATALOG)]


def test_standard_variables_with_fallbacks_pass():
    assert _codes('Hi {{ person.first_name | default: "there" }} at {{ company.name }}') == []


def test_locals_and_loop_variables_are_not_mistaken_for_unknown_ones():
    source = (
        "{% assign greeting = person.first_name | default: 'Hi' %}{{ greeting }}"
        "{% capture who %}{{ company.name }}{% endcapture %}{{ who }}"
    )
    assert _codes(source) == []


def test_every_problem_is_listed_in_source_order_with_its_line():
    source = "{{ person.stage }}\n{{ first_name }}\n{{ person.first_name | shout }}"
    errors = template_errors(source, html=True, catalog=CATALOG)
    assert [(e.code, e.line) for e in errors] == [
        ("list_attribute_variable", 1),
        ("unknown_variable", 2),
        ("unknown_filter", 3),
    ]


def test_a_syntax_error_reports_the_liquid_message_and_line():
    errors = template_errors("ok\nok\n{{ person.first_name ", html=True, catalog=CATALOG)
    assert len(errors) == 1
    assert errors[0].code == "template_syntax"
    assert errors[0].line == 3
    assert "expected '}}'" in errors[0].message


def test_check_template_names_the_field_and_the_line():
    with pytest.raises(InvalidInput) as caught:
        check_template("x\n{{ nope.x }}", html=False, catalog=CATALOG, field="steps.2.subject")
    assert caught.value.field == "steps.2.subject"
    assert caught.value.code == "unknown_variable"
    assert "(line 2)" in caught.value.message


def test_partials_cannot_be_loaded():
    assert _codes('{% include "secrets" %}') == ["template_syntax"]
    assert _codes('{% render "secrets" %}') == ["template_syntax"]


def test_a_runaway_loop_stops_at_the_limit():
    with pytest.raises(RenderError, match="loop iteration limit"):
        render("{% for i in (1..100000) %}{{ i }}{% endfor %}", {}, html=False)


def test_html_bodies_escape_values_and_subjects_do_not():
    data = {"person": {"first_name": "<Ann & Bo>"}}
    assert render("{{ person.first_name }}", data, html=True) == "&lt;Ann &amp; Bo&gt;"
    assert render("{{ person.first_name }}", data, html=False) == "<Ann & Bo>"


def test_a_missing_value_falls_back_to_its_default():
    source = 'Hi {{ person.first_name | default: "there" }}'
    assert render(source, {"person": {"first_name": None}}, html=False) == "Hi there"
    assert render(source, {"person": {}}, html=False) == "Hi there"
    assert render(source, {"person": {"first_name": "Ada"}}, html=False) == "Hi Ada"


# --- AI variables ---------------------------------------------------------------------------


def test_ai_prompts_are_found_verbatim_in_order():
    source = (
        "{% ai %}First about {{ company.name }}{% endai %} and "
        '{% ai fallback: "x" %}Second{% endai %}'
    )
    assert ai_prompts(source) == ["First about {{ company.name }}", "Second"]


def test_ai_prompts_are_found_even_in_a_template_that_does_not_compile():
    assert ai_prompts("{% ai %}Draft prompt{% endai %} {{ broken") == ["Draft prompt"]


def test_an_ai_variable_renders_its_fallback_until_text_can_be_generated():
    source = '{% ai fallback: "Hope you are well." %}A line about {{ company.name }}{% endai %}'
    assert render(source, {"company": {"name": "Acme"}}, html=True) == "Hope you are well."


def test_a_generator_receives_the_prompt_with_variables_filled_in():
    prompts = []

    def generate(prompt):
        prompts.append(prompt)
        return "<b>Generated</b>"

    source = "{% ai %}A line about {{ company.name }}{% endai %}"
    out = render(source, {"company": {"name": "Acme"}}, html=True, ai_generator=generate)
    assert prompts == ["A line about Acme"]
    assert out == "&lt;b&gt;Generated&lt;/b&gt;"  # generated text is escaped like any value


def test_in_an_html_body_the_fallback_is_html_and_the_prompt_is_read_as_plain_text():
    prompts = []

    def generate(prompt):
        prompts.append(prompt)
        return None

    source = '{% ai fallback: "R&amp;D news" %}About R&amp;D at {{ company.name }}{% endai %}'
    data = {"company": {"name": "A&B"}}
    assert render(source, data, html=True, ai_generator=generate) == "R&amp;D news"
    assert prompts == ["About R&D at A&B"]
    assert render_html_body(f"<p>{source}</p>", data) == "<p>R&amp;D news</p>"


def test_a_generator_that_gives_up_leaves_the_fallback():
    source = '{% ai fallback: "Plain." %}Prompt{% endai %}'
    assert render(source, {}, html=False, ai_generator=lambda prompt: None) == "Plain."


@pytest.mark.parametrize(
    "source",
    [
        "{% ai %}a{% ai %}b{% endai %}{% endai %}",
        '{% ai tone: "warm" %}a{% endai %}',
        '{% ai "positional" %}a{% endai %}',
        "{% ai fallback: company.name %}a{% endai %}",
        "{% ai %}never closed",
    ],
)
def test_malformed_ai_variables_do_not_compile(source):
    assert _codes(source) == ["template_syntax"]


def test_an_ai_variable_in_a_subject_is_allowed():
    assert _codes("{% ai %}A short subject for {{ company.name }}{% endai %}", html=False) == []


def test_variables_used_are_listed():
    paths = variable_paths("{{ person.first_name }} {% ai %}{{ company.name }}{% endai %}")
    assert paths == ["company.name", "person.first_name"]


# --- Rendering a body for sending ---------------------------------------------------------


def test_a_rendered_body_is_sanitised_again():
    source = '<a href="{{ person.website }}">site</a> {{ "<script>x</script>" }}'
    out = render_html_body(source, {"person": {"website": "javascript:alert(1)"}})
    assert "javascript:" not in out
    assert "<script>" not in out


def test_a_rendered_subject_stays_on_one_line():
    out = render_subject("Hi {{ person.first_name }}", {"person": {"first_name": "A\r\nBcc: x"}})
    assert out == "Hi A Bcc: x"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_any_plain_text_is_a_valid_template_without_variables(text):
    source = text.replace("{", "(").replace("}", ")").replace("%", "pct")
    assert _codes(source) == []
