"""The new text of a reply, without the history it quotes."""

from __future__ import annotations

import time

import pytest

from sequencer.mail.inbound.quoting import new_text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "Yes, Thursday works.\n\nOn Tue, Dec 9, 2025 at 4:03 PM Alice <a@x.test> wrote:\n"
            "> Hi Tom,\n> would a call work?\n",
            "Yes, Thursday works.",
        ),
        (
            "Sounds good.\n\nOn Tue, Dec 9, 2025 at 4:03 PM Alice Martin - Northwind Sales <\n"
            "alice@northwind.test> wrote:\n\n> Hi\n",
            "Sounds good.",
        ),
        (
            "Sure.\n\nOn 9 Dec 2025, at 17:20, Alice <a@x.test> wrote:\n\n> Hi\n",
            "Sure.",
        ),
        (
            "Please send pricing.\n\n-----Original Message-----\nFrom: Alice <a@x.test>\n"
            "Sent: Tuesday, December 9, 2025 3:12 PM\nTo: Kevin\nSubject: Hi\n\nHi Kevin",
            "Please send pricing.",
        ),
        (
            "Happy to chat.\n\n________________________________\nFrom: Alice <a@x.test>\n"
            "Sent: Tuesday, December 9, 2025 10:02 AM\nTo: Maria\nSubject: Hi\n\nHi Maria",
            "Happy to chat.",
        ),
        (
            "Gerne.\n\nVon: Alice Martin <a@x.test>\nGesendet: Dienstag, 9. Dezember 2025 15:30\n"
            "An: Jürgen\nBetreff: Frage\n\nHallo",
            "Gerne.",
        ),
        (
            "Gerne.\n\nAm Di., 9. Dez. 2025 um 10:02 Uhr schrieb Alice <a@x.test>:\n> Hallo\n",
            "Gerne.",
        ),
        (
            "Oui.\n\nLe mar. 9 déc. 2025 à 11:20, Alice <a@x.test> a écrit :\n> Bonjour\n",
            "Oui.",
        ),
        ("Sí.\n\nEl 09/12/2025 a las 10:00, Alice escribió:\n> Hola\n", "Sí."),
        ("Ja.\n\nOp di 9 dec. 2025 om 10:00 schreef Alice <a@x.test>:\n> Hoi\n", "Ja."),
        ("Sì.\n\nIl giorno mar 9 dic 2025 alle 10:00 Alice <a@x.test> ha scritto:\n> Ciao", "Sì."),
        (
            "Hi Alice,\n\nNo thanks.\n\nSent from my iPhone\n\n> On Dec 9, 2025, at 10:45 AM, "
            "Alice <a@x.test> wrote:\n> Hi\n",
            "Hi Alice,\n\nNo thanks.",
        ),
        ("Thanks!\n\n-- \nTom Baker\nCEO, Initech\n", "Thanks!"),
        ("Just text, nothing quoted.\nSecond line.", "Just text, nothing quoted.\nSecond line."),
        ("", ""),
    ],
)
def test_the_quoted_history_is_cut_from_a_reply(body, expected):
    assert new_text(body) == expected


def test_a_bottom_posted_reply_keeps_what_follows_the_quote():
    body = (
        "On Tue, Dec 09, 2025 at 09:30:00AM +0000, Alice Martin wrote:\n"
        "> Would a call be useful?\n\nMaybe. What does it cost?\n\n> Alice\n"
    )
    assert new_text(body) == "Maybe. What does it cost?"


def test_an_inline_reply_keeps_its_own_lines_and_drops_the_quoted_ones():
    body = "> Would Tuesday work?\nYes.\n> Or Thursday?\nAlso fine.\n"
    assert new_text(body) == "Yes.\nAlso fine."


def test_a_sentence_ending_in_wrote_without_a_colon_is_not_an_attribution():
    body = "I liked what you wrote\nLet's talk next week."
    assert new_text(body) == body


def test_windows_line_endings_are_understood():
    body = "Yes.\r\n\r\nOn Tue, Dec 9, 2025 Alice <a@x.test> wrote:\r\n> Hi\r\n"
    assert new_text(body) == "Yes."


@pytest.mark.parametrize(
    "body",
    [" \n" * 50_000, "Best regards,\n" + "\n" * 50_000 + "a", "> q\n" * 50_000, "a" * 200_000],
)
def test_pathological_bodies_are_handled_in_linear_time(body):
    started = time.perf_counter()
    new_text(body)
    assert time.perf_counter() - started < 1.0
