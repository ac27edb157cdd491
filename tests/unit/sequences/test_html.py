"""Sanitising email HTML while keeping Liquid markup exactly as written."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sequencer.domain.errors import InvalidInput
from sequencer.sequences.html import sanitize_html
from sequencer.sequences.templating import render

FALLBACK = '{{ person.first_name | default: "there" }}'


def test_liquid_in_text_survives_exactly():
    html = f"<p>Hi {FALLBACK}, welcome.</p>"
    assert sanitize_html(html) == html


def test_liquid_in_a_link_survives_and_still_renders():
    html = f'<a href="https://example.com/hello?name={FALLBACK}">Say hi</a>'
    cleaned = sanitize_html(html)
    assert FALLBACK in cleaned
    rendered = render(cleaned, {"person": {}}, html=True)
    assert 'href="https://example.com/hello?name=there"' in rendered.replace("'", '"')


def test_a_link_computed_entirely_by_liquid_is_kept_for_checking_after_rendering():
    cleaned = sanitize_html('<a href="{{ company.website }}">site</a>')
    assert 'href="{{ company.website }}"' in cleaned


def test_liquid_tags_around_html_survive():
    html = (
        "{% if person.first_name %}<p>Hi {{ person.first_name }}</p>{% else %}<p>Hi</p>{% endif %}"
    )
    assert sanitize_html(html) == html


def test_an_ai_block_survives():
    html = '<p>{% ai fallback: "Hello." %}One line about {{ company.name }}{% endai %}</p>'
    assert sanitize_html(html) == html


@pytest.mark.parametrize(
    ("dirty", "gone"),
    [
        ("<p>a</p><script>alert(1)</script>", "script"),
        ("<p>a</p><style>p { display: none }</style>", "style"),
        ('<p onclick="steal()">a</p>', "onclick"),
        ('<img src="https://x.test/a.png" onerror="steal()">', "onerror"),
        ('<a href="javascript:alert(1)">a</a>', "javascript"),
        ('<a href=" JaVaScRiPt:alert(1)">a</a>', "javascript"),
        ('<a href="data:text/html,hi">a</a>', "data:"),
        ('<a href="/relative">a</a>', "relative"),
        ('<img src="http://insecure.test/a.png">', "insecure"),
        ('<iframe src="https://x.test"></iframe>', "iframe"),
        ('<form action="https://x.test"><input></form>', "form"),
        ('<p style="position: fixed; color: red">a</p>', "position"),
        ("<!-- secret --><p>a</p>", "secret"),
    ],
)
def test_unsafe_html_is_removed(dirty, gone):
    assert gone not in sanitize_html(dirty).lower()


@pytest.mark.parametrize(
    "safe",
    [
        "<p><strong>bold</strong> <em>it</em> <u>u</u> <s>s</s></p>",
        '<p><a href="https://example.com" rel="noopener noreferrer">x</a></p>',
        '<p><a href="mailto:a@example.com" rel="noopener noreferrer">x</a></p>',
        '<img src="cid:abc@sequencer" alt="logo">',
        '<img src="https://cdn.example.com/logo.png">',
        "<ul><li>one</li></ul><ol><li>two</li></ol><blockquote>q</blockquote>",
        '<p style="color:red;text-align:center">x</p>',
        "<h1>a</h1><h2>b</h2><br><hr>",
    ],
)
def test_safe_formatting_is_kept(safe):
    assert sanitize_html(safe) == safe


def test_liquid_that_would_open_a_tag_in_text_is_refused():
    with pytest.raises(InvalidInput) as caught:
        sanitize_html('<p>{{ "<script>alert(1)</script>" }}</p>', field="steps.0.body_html")
    assert caught.value.field == "steps.0.body_html"
    assert caught.value.code == "unsafe_liquid"


def test_a_comparison_in_liquid_is_not_mistaken_for_a_tag():
    html = "{% if person.score < 5 %}low{% endif %}"
    assert sanitize_html(html) == html


def test_liquid_using_both_quote_kinds_inside_an_attribute_is_refused():
    with pytest.raises(InvalidInput):
        sanitize_html("""<a href="https://x.test/{{ a | default: "it's" }}">x</a>""")


def test_without_liquid_markup_braces_are_plain_text():
    assert sanitize_html("<p>{{ x }}</p>", liquid=False) == "<p>{{ x }}</p>"


# Liquid expressions a template author could reasonably write.
names = st.sampled_from(["person.first_name", "company.name", "person.email"])
fallbacks = st.text(alphabet="abc XYZ.,!", max_size=12)
liquid = st.builds(lambda n, f: f'{{{{ {n} | default: "{f}" }}}}', names, fallbacks) | st.builds(
    lambda n: f"{{{{ {n} }}}}", names
)
words = st.text(alphabet="abcdefg &<>'\"", max_size=10)
fragments = st.lists(
    st.one_of(
        liquid,
        words.map(lambda w: w.replace("<", " ").replace(">", " ")),
        st.builds(lambda x: f"<p>{x}</p>", liquid),
        st.builds(lambda x: f'<a href="https://example.com/?q={x}">link</a>', liquid),
        st.builds(lambda x: f"<strong>{x}</strong>", liquid),
        st.just("<script>bad()</script>"),
        st.just('<b onclick="bad()">b</b>'),
    ),
    max_size=6,
)


@given(fragments)
def test_every_liquid_expression_survives_sanitising(parts):
    html = "".join(parts)
    cleaned = sanitize_html(html)
    for part in parts:
        if part.startswith("{{"):
            assert part in cleaned
    assert "bad()" not in cleaned


@given(fragments)
def test_sanitising_twice_changes_nothing_more(parts):
    once = sanitize_html("".join(parts))
    assert sanitize_html(once) == once
