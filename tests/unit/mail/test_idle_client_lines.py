"""What the IMAP watch client reads in a server's lines, and how it quotes a login."""

from __future__ import annotations

import pytest

from sequencer.mail.sync.idle_client import _quoted, announces_news


@pytest.mark.parametrize(
    "line", [b"* 3 EXISTS", b"* 1 RECENT", b"* 12 exists", b"* 0 EXISTS extra words"]
)
def test_new_mail_is_announced_by_exists_or_recent(line: bytes) -> None:
    assert announces_news(line)


@pytest.mark.parametrize(
    "line",
    [
        b"* OK Still here",
        b"* 2 EXPUNGE",
        b"* 4 FETCH (FLAGS (\\Seen))",
        b"+ idling",
        b"W3 OK Idle completed",
        b"* EXISTS",
        b"",
    ],
)
def test_other_lines_announce_nothing(line: bytes) -> None:
    assert not announces_news(line)


def test_a_password_with_quotes_and_backslashes_is_escaped() -> None:
    assert _quoted('pa"ss\\word') == b'"pa\\"ss\\\\word"'


@pytest.mark.parametrize("value", ["pässwörd", "line\nbreak", "tab\there"])
def test_a_password_outside_printable_ascii_needs_another_way(value: str) -> None:
    assert _quoted(value) is None
