"""Replies that ask to stop, looked for in the new text only."""

from __future__ import annotations

import pytest

from sequencer.mail.inbound import classify
from sequencer.mail.inbound.stop import asks_to_stop

from .support import MAILBOX, RECEIVED, message


@pytest.mark.parametrize(
    "text",
    [
        "Please unsubscribe me.",
        "UNSUBSCRIBE",
        "Stop",
        "stop.",
        "Remove",
        "Please remove me from your list.",
        "Take me off your mailing list",
        "Stop emailing me, thanks.",
        "Please don't email me again.",
        "Do not contact me.",
        "Not interested, thanks.",
        "No longer wish to receive these.",
        "opt me out",
        "Bitte austragen.",
        "Bitte nehmen Sie mich aus Ihrem Verteiler.",
        "Kein Interesse, danke.",
        "Bitte nicht mehr kontaktieren.",
        "Merci de me désabonner.",
        "Merci de ne plus me contacter.",
        "Pas intéressé.",
        "Por favor, darme de baja.",
        "No me interesa, gracias.",
        "Elimínenme de su lista.",
        "Geen interesse.",
        "Non sono interessato.",
        "Not interested \u2014 please stop.",
    ],
)
def test_a_request_to_stop_is_recognised(text):
    assert asks_to_stop(text)


@pytest.mark.parametrize(
    "text",
    [
        "Sounds interesting, let's talk Thursday.",
        "Please don't unsubscribe me, I like these.",
        "Do not remove me, I'm interested.",
        "I'm interested in a demo.",
        "Can you stop by our booth at the fair?",
        "Bitte rufen Sie mich an.",
        "Oui, volontiers.",
        "",
    ],
)
def test_an_ordinary_reply_is_not_a_request_to_stop(text):
    assert not asks_to_stop(text)


def test_a_stop_phrase_in_the_quoted_history_does_not_count():
    body = (
        "Thanks, happy to chat next week.\n\n"
        "On Tue, Dec 9, 2025 at 4:03 PM Alice <alice@northwind.test> wrote:\n"
        "> Not interested? Reply unsubscribe and I'll stop emailing you.\n"
    )
    event = classify(message(body), mailbox_address=MAILBOX, received_at=RECEIVED)
    assert event.kind == "reply"
    assert not event.wants_to_stop


def test_a_reply_whose_new_text_asks_to_stop_is_an_unsubscribe_request():
    body = "Please remove me.\n\nOn Tue, Dec 9, 2025 Alice <alice@northwind.test> wrote:\n> Hi\n"
    event = classify(
        message(body, in_reply_to="<s1@northwind.test>"),
        mailbox_address=MAILBOX,
        received_at=RECEIVED,
    )
    assert event.kind == "unsubscribe_request"
    assert event.wants_to_stop
    assert event.matching_ids() == ("<s1@northwind.test>",)


def test_a_mailto_unsubscribe_with_a_body_that_says_little_is_an_unsubscribe_request():
    event = classify(
        message("sent from the unsubscribe link", subject="Unsubscribe"),
        mailbox_address=MAILBOX,
        received_at=RECEIVED,
    )
    assert event.kind == "unsubscribe_request"


def test_a_long_message_whose_subject_starts_with_unsubscribe_is_read_as_a_reply():
    body = "We discussed how our product handles list links and compliance. " * 20
    event = classify(
        message(body, subject="Unsubscribe links in your product"),
        mailbox_address=MAILBOX,
        received_at=RECEIVED,
    )
    assert event.kind == "reply"
