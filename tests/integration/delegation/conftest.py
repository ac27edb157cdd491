"""Fixtures for delegated sending: sequences with chosen access, and mailboxes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import count
from typing import Any

import pytest

from sequencer.clock import system_clock
from sequencer.mail.models import Mailbox
from sequencer.sequences.models import AccessLevel, Sequence, SequenceGrant
from sequencer.workspace.models import User


@pytest.fixture
def make_mailbox(db: None) -> Callable[..., Mailbox]:
    """``make_mailbox(owner, email=None, *, default=False, status="active", proven=True)``:
    a saved mailbox row (no server behind it: these tests never send); ``proven`` marks
    its address proven as :func:`tests.peers.fixtures.mark_address_proven` does."""
    numbers = count(1)

    def make(
        owner: User,
        email: str | None = None,
        *,
        default: bool = False,
        status: str = "active",
        proven: bool = True,
    ) -> Mailbox:
        if default:
            Mailbox.objects.filter(owner=owner, is_default=True).update(is_default=False)
        return Mailbox.objects.create(
            owner=owner,
            provider="smtp_imap",
            email=email or f"{owner.email.split('@')[0]}.{next(numbers)}@mail.test",
            is_default=default,
            smtp_host="smtp.mail.test",
            smtp_port=587,
            status=status,
            address_proven_at=datetime.now(UTC) if proven else None,
            address_proof="admin" if proven else "",
        )

    return make


@pytest.fixture
def make_sequence(admin: User) -> Callable[..., Sequence]:
    """``make_sequence(workspace_access="read_write", grants={member: level})``: a sequence
    created by the admin (who has full access), with a grant for each member named."""

    def make(
        workspace_access: str = AccessLevel.READ_WRITE,
        grants: dict[User, str] | None = None,
        **fields: Any,
    ) -> Sequence:
        now = system_clock.now()
        sequence = Sequence.objects.create(
            name=fields.pop("name", "Demo follow-up"),
            workspace_access=workspace_access,
            created_by=admin,
            created_at=now,
            updated_at=now,
            **fields,
        )
        SequenceGrant.objects.create(sequence=sequence, user=admin, level=AccessLevel.FULL_ACCESS)
        for user, level in (grants or {}).items():
            SequenceGrant.objects.create(sequence=sequence, user=user, level=level)
        return sequence

    return make
