"""The one html_to_text, for sent emails' plain-text part and for reading inbound HTML."""

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from sequencer.domain.text import MAX_DEPTH, RULE, html_to_text


def test_links_read_as_text_then_url_and_paragraphs_stand_apart():
    html = "<p>Hi <b>Bob</b>,</p><p>Book <a href='https://cal.test/x'>here</a>.</p>"
    assert html_to_text(html) == "Hi Bob,\n\nBook [here](https://cal.test/x).\n"


def test_without_links_only_the_link_text_remains():
    assert html_to_text("<a href='https://x.test/u'>unsubscribe</a>", links=False) == (
        "unsubscribe\n"
    )


def test_a_link_without_a_web_or_mail_url_is_just_its_text():
    assert html_to_text("<a href='javascript:alert(1)'>click</a>") == "click\n"


def test_blockquotes_are_quoted_like_a_plain_text_client_and_hr_is_a_rule():
    html = (
        "<p>Yes &amp; thanks!</p><hr><div>On Tue, Alice wrote:</div>"
        "<blockquote><p>Would a call work?</p><blockquote>Earlier<br>mail</blockquote>"
        "</blockquote><p>After</p>"
    )
    assert html_to_text(html) == (
        f"Yes & thanks!\n\n{RULE}\n\nOn Tue, Alice wrote:\n\n> Would a call work?\n>\n"
        "> > Earlier\n> > mail\n\nAfter\n"
    )


def test_lists_tables_and_pre_keep_their_shape():
    html = (
        "<ul><li>one</li><li>two<ol><li>a</li><li>b</li></ol></li></ul>"
        "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>"
        "<pre>keep\n  this</pre>"
    )
    assert html_to_text(html) == "* one\n* two\n  1. a\n  2. b\n\n1 2\n3\n\nkeep\n  this\n"


def test_style_script_and_head_are_not_text():
    html = "<html><head><title>T</title><style>p{}</style></head><body>Hi<script>x()</script>"
    assert html_to_text(html) == "Hi\n"


def test_empty_or_broken_html_gives_text_without_raising():
    assert html_to_text("") == ""
    assert html_to_text("<p>unclosed <b>bold <a href='https://x.test'>link") == (
        "unclosed bold [link](https://x.test)\n"
    )
    assert html_to_text("a\ud800b") == "a?b\n"


def test_deep_nesting_keeps_every_line_short():
    html = "<blockquote>" * 5_000 + "deep<br>" * 100
    longest = max(len(line) for line in html_to_text(html).splitlines())
    assert longest <= len("> " * MAX_DEPTH) + len("deep")


def test_max_chars_bounds_the_text_kept():
    text = html_to_text("<p>" + "word " * 100_000 + "</p>" + "<br>" * 100_000, max_chars=1_000)
    assert len(text) <= 1_100


def _seconds(html: str) -> float:
    start = time.perf_counter()
    html_to_text(html, max_chars=100_000)
    return time.perf_counter() - start


def test_hostile_markup_takes_linear_time():
    # Each of these is quadratic in the standard library's HTMLParser.
    for unit in ("<!--", "<a b='", "<x", "</", "<?", "<blockquote>", "<a href='https://x'>"):
        small, large = _seconds(unit * 10_000), _seconds(unit * 80_000)
        assert large < 0.5 or large < 8 * small * 2, unit  # 8x the input, not 64x the time


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("<>/ab=\"' &;#!-?\n\tp"), max_size=300))
def test_any_markup_gives_bounded_text_ending_in_one_newline(html):
    text = html_to_text(html, max_chars=100)
    assert text == "" or (text.endswith("\n") and not text.endswith("\n\n"))
    assert len(text) <= 100 + 300
