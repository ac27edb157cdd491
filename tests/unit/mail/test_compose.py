import re
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from sequencer.domain.text import html_to_text
from sequencer.domain.threading import make_message_id, reply_subject
from sequencer.mail.compose import build_message, wire_bytes
from sequencer.mail.headers import HeaderError

WHEN = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)


def compose(**overrides):
    args = {
        "from_": ("Alice Example", "alice@example.test"),
        "to": ("Bob Prospect", "bob@prospect.test"),
        "subject": "Quick question",
        "html": "<p>Hi <b>Bob</b>,</p><p>See <a href='https://example.test/x'>this</a>.</p>",
        "date": WHEN,
        "message_id": "<first@example.test>",
    }
    return build_message(**{**args, **overrides})


def parsed(message):
    return message_from_bytes(wire_bytes(message), policy=policy.default)


def raw_header(data: bytes, name: str) -> str:
    """The header exactly as written, folded lines joined."""
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    match = re.search(
        rf"^{name}:([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head, re.MULTILINE | re.IGNORECASE
    )
    assert match, f"{name} missing"
    return match.group(1)


def test_a_message_id_is_random_and_uses_the_senders_domain():
    first, second = make_message_id("alice@Example.TEST"), make_message_id("alice@example.test")
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.test>", first)
    assert first != second


def test_reply_subject_prefixes_re_once_however_often_it_is_applied():
    assert reply_subject("Quick question") == "RE: Quick question"
    assert reply_subject(reply_subject("Quick question")) == "RE: Quick question"
    assert reply_subject("Re: re:  RE[2]: Quick question") == "RE: Quick question"
    assert reply_subject("Renewal: your plan") == "RE: Renewal: your plan"


def test_the_headers_carry_sender_recipient_subject_date_and_message_id():
    message = parsed(compose())
    assert str(message["From"]) == "Alice Example <alice@example.test>"
    assert str(message["To"]) == "Bob Prospect <bob@prospect.test>"
    assert message["Subject"] == "Quick question"
    assert message["Date"].datetime == WHEN
    assert message["Message-ID"] == "<first@example.test>"
    assert message["MIME-Version"] == "1.0"


def test_a_follow_up_threads_with_in_reply_to_and_references():
    message = parsed(
        compose(
            subject=reply_subject("Quick question"),
            message_id="<third@example.test>",
            in_reply_to="<second@example.test>",
            references=["<first@example.test>", "<second@example.test>"],
        )
    )
    assert message["In-Reply-To"] == "<second@example.test>"
    assert message["References"] == "<first@example.test> <second@example.test>"
    assert message["Subject"] == "RE: Quick question"


def test_long_unsubscribe_and_references_headers_are_never_encoded_or_broken():
    url = "https://unsubscribe.example.test/u/" + "a1B2" * 70  # 315 characters
    references = [f"<{i:032x}@example.test>" for i in range(20)]
    data = wire_bytes(
        compose(
            unsubscribe_url=url,
            unsubscribe_mailto="unsubscribe@example.test?subject=unsubscribe",
            references=references,
            in_reply_to=references[-1],
        )
    )
    unsubscribe = raw_header(data, "List-Unsubscribe")
    assert "=?" not in unsubscribe
    assert unsubscribe.strip() == (
        f"<{url}>, <mailto:unsubscribe@example.test?subject=unsubscribe>"
    )
    assert raw_header(data, "List-Unsubscribe-Post").strip() == "List-Unsubscribe=One-Click"
    folded_refs = raw_header(data, "References")
    assert "=?" not in folded_refs
    assert folded_refs.split() == references
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))


def test_an_unsubscribe_header_too_long_for_one_line_is_folded_between_its_uris():
    url = "https://unsubscribe.example.test/u/" + "k" * 930  # fits a line, not with mailto
    mailto = "unsubscribe@example.test?subject=unsubscribe"
    data = wire_bytes(compose(unsubscribe_url=url, unsubscribe_mailto=mailto))

    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    unsubscribe = raw_header(data, "List-Unsubscribe")
    assert "=?" not in unsubscribe
    assert unsubscribe.strip() == f"<{url}>,\r\n <mailto:{mailto}>"
    # A receiver unfolds it back to the two URIs (RFC 5322 §2.2.3).
    read = str(message_from_bytes(data, policy=policy.default)["List-Unsubscribe"])
    assert re.findall(r"<([^>]+)>", read) == [url, f"mailto:{mailto}"]


def test_an_unsubscribe_url_too_long_for_any_header_line_is_refused_naming_the_header():
    url = "https://unsubscribe.example.test/u/" + "k" * 1000
    with pytest.raises(HeaderError) as refused:
        compose(unsubscribe_url=url)
    assert refused.value.header == "List-Unsubscribe"
    assert "at most 977 fit in a header line" in str(refused.value)


def test_one_click_is_only_offered_with_an_https_url():
    data = wire_bytes(compose(unsubscribe_url="http://127.0.0.1:8000/u/abc"))
    assert b"List-Unsubscribe: <http://127.0.0.1:8000/u/abc>" in data
    assert b"List-Unsubscribe-Post" not in data


def test_an_unsubscribe_uri_with_an_angle_bracket_or_space_is_refused():
    with pytest.raises(ValueError, match="unsubscribe_url"):
        compose(unsubscribe_url="https://x.test/u/a>b")
    with pytest.raises(ValueError, match="unsubscribe_url"):
        compose(unsubscribe_url="https://x.test/u/a\r\nBcc: x@y.test")


def test_without_extras_the_message_is_a_plain_text_and_html_alternative():
    message = parsed(compose())
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert "Hi Bob," in plain.get_content()
    assert "[this](https://example.test/x)" in plain.get_content()
    assert "<b>Bob</b>" in html.get_content()


def test_a_given_text_body_is_used_instead_of_the_derived_one():
    message = parsed(compose(text="Hand-written text.\n"))
    assert message.get_body(("plain",)).get_content().strip() == "Hand-written text."


def test_inline_images_sit_in_a_related_part_beside_the_alternative():
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    message = parsed(
        compose(
            html='<p>Logo: <img src="cid:logo@example.test"></p>',
            inline_images=[("logo@example.test", "image/png", png)],
        )
    )
    assert message.get_content_type() == "multipart/related"
    assert message.get_param("type") == "multipart/alternative"
    alternative, image = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert image["Content-ID"] == "<logo@example.test>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == png


def test_attachments_wrap_everything_in_a_mixed_part():
    pdf = b"%PDF-1.4 " * 200
    message = parsed(
        compose(
            attachments=[("offer.pdf", "application/pdf", pdf)],
            inline_images=[("logo", "image/png", b"png")],
        )
    )
    assert message.get_content_type() == "multipart/mixed"
    related, attachment = message.iter_parts()
    assert related.get_content_type() == "multipart/related"
    assert attachment.get_filename() == "offer.pdf"
    assert attachment.get_content() == pdf


def test_non_ascii_text_is_encoded_in_7_bit_with_short_lines():
    data = wire_bytes(
        compose(subject="Grüße aus Köln", html="<p>Schöne Grüße " + "ä" * 300 + "</p>")
    )
    assert max(data) < 128
    body = data.split(b"\r\n\r\n", 1)[1]
    assert all(len(line) <= 78 for line in body.split(b"\r\n"))
    assert parsed(compose(subject="Grüße aus Köln"))["Subject"] == "Grüße aus Köln"


def test_extra_headers_are_added_but_may_not_replace_the_builders_own():
    assert parsed(compose(extra_headers={"X-Sequencer-Step": "2"}))["X-Sequencer-Step"] == "2"
    with pytest.raises(ValueError, match="References"):
        compose(extra_headers={"References": "<x@y>"})


def test_a_naive_date_is_refused():
    with pytest.raises(ValueError, match="timezone"):
        compose(date=datetime(2026, 3, 6, 16, 30))


def test_wire_bytes_use_crlf_and_leave_out_bcc():
    message = compose()
    message["Bcc"] = "hidden@example.test"
    data = wire_bytes(message)
    assert b"hidden@example.test" not in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert message["Bcc"] == "hidden@example.test"


def test_html_to_text_keeps_links_readable():
    assert html_to_text("<p>Book <a href='https://cal.test/x'>here</a></p>") == (
        "Book [here](https://cal.test/x)\n"
    )
