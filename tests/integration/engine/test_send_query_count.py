"""Sending costs a fixed number of queries, however rich the recipients' records, and a
batch of a mailbox's emails reads what they share once.

The recipients' people and companies come with the query that loads the batch's emails;
the companies' domains, the versions and the attribute definitions in one query each
(an email goes to its enrollment's address, so the people's addresses are not read). So
a person with five addresses at a company with five domains and custom attributes costs
exactly what a person with one address does, and each further email of a batch costs
only its own writes.
"""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from functools import partial

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sequencer.crm.models import Attribute, Company, CompanyDomain, EmailAddress, Person
from sequencer.engine.claim import claim_due
from sequencer.engine.dispatch import send_claimed
from sequencer.mail.mailboxes import provider_for
from sequencer.sequences import enrollment, templating
from sequencer.sequences.enrollment import Recipient

pytestmark = pytest.mark.django_db

LEASE = timedelta(minutes=5)


def _recipient(tag: str, addresses: int, domains: int, attributes: dict[str, str]) -> Person:
    company = Company.objects.create(name=f"Initech {tag}", attributes=attributes)
    for n in range(domains):
        CompanyDomain.objects.create(company=company, domain=f"{tag}{n}.initech.test")
    person = Person.objects.create(
        first_name="Ada", last_name=tag, company=company, attributes=attributes
    )
    for n in range(addresses):
        EmailAddress.objects.create(
            person=person, email=f"ada{n}@{tag}.initech.test", is_primary=n == 0, position=n
        )
    return person


def _queries_to_send(admin, sequence, mailbox, person, clock, smtp_server) -> list[str]:
    return _queries_to_send_batch(admin, sequence, mailbox, [person], clock, smtp_server)


def test_sending_one_email_costs_the_same_queries_for_one_address_or_five_and_parses_nothing_again(
    admin, publish, mailbox, clock, smtp_server
):
    Attribute.objects.create(object="people", slug="tier", title="Tier", type="text")
    Attribute.objects.create(object="companies", slug="segment", title="Segment", type="text")
    sequence = publish(
        [
            (
                0,
                "Hello {{ person.first_name }} at {{ company.name }}",
                "<p>{{ company.domain }} {{ person.tier | default: 'x' }}</p>",
            )
        ]
    )
    plain = _recipient("plain", addresses=1, domains=1, attributes={})
    rich = _recipient("rich", addresses=5, domains=5, attributes={"tier": "A", "segment": "B"})

    one = _queries_to_send(admin, sequence, mailbox, plain, clock, smtp_server)
    clock.advance(timedelta(minutes=1))
    compiled = templating._CACHE.compiles
    five = _queries_to_send(admin, sequence, mailbox, rich, clock, smtp_server)

    # The version's templates were parsed for the first email, not again for the second.
    assert templating._CACHE.compiles == compiled

    assert len(one) == len(five), "\n".join(five)
    # An email is written to its enrollment's address: the person's addresses are not
    # read for it at all.
    assert not [q for q in five if "crm_emailaddress" in q], "\n".join(five)


def _queries_to_send_batch(admin, sequence, mailbox, people, clock, smtp_server) -> list[str]:
    outcomes = enrollment.enroll(
        admin, sequence.pk, [Recipient(p.pk) for p in people], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    assert all(o.enrolled for o in outcomes), outcomes
    email_ids = claim_due(clock.now(), limit=50, lease=LEASE, owner="counter")
    assert len(email_ids) == len(people)
    received = len(smtp_server.messages)
    with CaptureQueriesContext(connection) as queries:
        handed_over = send_claimed(
            email_ids,
            owner="counter",
            clock=clock,
            lease=LEASE,
            provider_for=partial(provider_for, clock=clock),
            random=lambda: 0.5,
        )
    assert handed_over == len(people)
    assert len(smtp_server.messages) == received + len(people)
    return [q["sql"] for q in queries.captured_queries]


def test_each_further_email_of_a_batch_costs_only_its_own_writes(
    admin, publish, mailbox, clock, smtp_server
):
    Attribute.objects.create(object="people", slug="tier", title="Tier", type="text")
    mailbox.per_hour, mailbox.per_day, mailbox.min_spacing_seconds = 100, 1000, 0
    mailbox.save()
    sequence = publish([(0, "Hello {{ person.first_name }}", "<p>{{ company.name }}</p>")])
    people = [_recipient(f"p{n}", addresses=2, domains=2, attributes={}) for n in range(11)]

    one = _queries_to_send_batch(admin, sequence, mailbox, people[:1], clock, smtp_server)
    clock.advance(timedelta(minutes=1))
    ten = _queries_to_send_batch(admin, sequence, mailbox, people[1:], clock, smtp_server)

    # The batch's reads (emails, recipients, versions, the sending address, suppression,
    # locks, pacing, attribute definitions) happen once; each email adds its own two
    # transactions: the lock of its enrollment with its commit of sending, then that lock
    # again with its record of sent and its completion (the webhooks it owes were read
    # with the batch), each with its savepoint. More means something is read per email
    # that the batch could share.
    per_email = (len(ten) - len(one)) / 9
    assert per_email <= 9, "\n".join(ten)
    assert len(one) <= 23, "\n".join(one)


def test_an_email_to_a_persons_second_address_says_and_goes_to_that_address(
    admin, publish, mailbox, clock, smtp_server
):
    sequence = publish([(0, "For {{ person.first_name }}", "<p>Written to {{ person.email }}</p>")])
    person = _recipient("second", addresses=2, domains=1, attributes={})
    second = "ada1@second.initech.test"
    outcomes = enrollment.enroll(
        admin, sequence.pk, [Recipient(person.pk, email=second)], mailbox_id=mailbox.pk, clock=clock
    ).outcomes
    assert outcomes[0].enrolled, outcomes

    send_claimed(
        claim_due(clock.now(), limit=5, lease=LEASE, owner="counter"),
        owner="counter",
        clock=clock,
        lease=LEASE,
        provider_for=partial(provider_for, clock=clock),
        random=lambda: 0.5,
    )

    [received] = smtp_server.messages
    message = message_from_bytes(received.data, policy=policy.default)
    assert received.rcpt_tos == [second]
    assert second in str(message["To"])
    assert f"Written to {second}" in message.get_body(("plain",)).get_content()
    assert "ada0@second.initech.test" not in received.data.decode()
