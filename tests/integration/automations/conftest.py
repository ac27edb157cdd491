"""Workflows over real parts: members, published sequences, mailboxes, CRM records made
through the CRM services, and a fake clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count
from typing import Any

import pytest

from sequencer.crm import lists as list_service
from sequencer.crm import people as people_service
from sequencer.crm.models import Person, PersonList
from sequencer.mail.models import Mailbox
from sequencer.sequences import authoring
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import AccessLevel, Sequence, SequenceGrant
from sequencer.testing import FakeClock
from sequencer.workspace.models import User

# A Monday, 10:00 UTC.
START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)

ALL_DAY = {
    "window": {"start": "00:00", "end": "00:00"},
    "time_zone": "UTC",
    "business_days_only": False,
    "include_signature": False,
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def make_mailbox(db: None, clock: FakeClock) -> Callable[..., Mailbox]:
    """A proven mailbox row of ``owner`` (never connected to: workflows only enroll)."""
    numbers = count(1)

    def make(owner: User, *, default: bool = True) -> Mailbox:
        return Mailbox.objects.create(
            owner=owner,
            provider="smtp_imap",
            email=f"{owner.email.split('@')[0]}.{next(numbers)}@mail.test",
            is_default=default,
            smtp_host="smtp.mail.test",
            smtp_port=587,
            status="active",
            address_proven_at=clock.now(),
            address_proof="admin",
        )

    return make


@pytest.fixture
def publish(admin: User, clock: FakeClock) -> Callable[..., Sequence]:
    """``publish(name, workspace_access=..., grants={member: level})``: a published
    one-step sequence made by the admin."""

    def make(
        name: str = "Intro",
        *,
        workspace_access: str = AccessLevel.READ_WRITE,
        grants: dict[User, str] | None = None,
    ) -> Sequence:
        sequence = authoring.create_sequence(
            admin,
            name=name,
            settings=ALL_DAY,
            steps=[StepInput(delay_days=0, subject="Hello", body_html="<p>Hi there.</p>")],
            workspace_access=workspace_access,
            clock=clock,
        )
        authoring.publish(admin, sequence.pk, clock=clock)
        for user, level in (grants or {}).items():
            SequenceGrant.objects.update_or_create(
                sequence=sequence, user=user, defaults={"level": level}
            )
        sequence.refresh_from_db()
        return sequence

    return make


@pytest.fixture
def new_person(db: None) -> Callable[..., Person]:
    numbers = count(1)

    def make(**fields: Any) -> Person:
        fields.setdefault("email_addresses", [f"lead{next(numbers)}@prospect.test"])
        return people_service.create_person(**fields)

    return make


@pytest.fixture
def new_list(db: None) -> Callable[..., PersonList]:
    def make(name: str = "Q3 prospects") -> PersonList:
        return list_service.create_list(name)

    return make


def enroll_on_list(list_id: int, sequence_id: int, **sender: Any) -> dict[str, Any]:
    """A workflow body: added to ``list_id`` → enroll into ``sequence_id``."""
    return {
        "name": "Listed leads get the intro",
        "trigger": {"kind": "added_to_list", "list_id": list_id},
        "conditions": [],
        "actions": [
            {
                "kind": "enroll",
                "sequence_id": sequence_id,
                "sender": sender or {"kind": "record_owner"},
            }
        ],
    }
