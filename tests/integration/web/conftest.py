from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from sequencer.clock import system_clock
from sequencer.sequences import access, authoring
from sequencer.sequences.authoring import StepInput
from sequencer.sequences.models import Sequence
from sequencer.workspace.models import Role, User

LEVELS = ["no_access", "read_only", "read_write", "full_access", "admin"]


@pytest.fixture
def browser_of() -> Callable[[User], Client]:
    """A Django test client signed in as ``user`` (a real session, no password round trip)."""

    def make(user: User) -> Client:
        client = Client()
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return make


@pytest.fixture
def make_sequence(admin: User) -> Callable[..., Sequence]:
    def make(
        owner: User | None = None, name: str = "Onboarding", steps: int = 1, **kwargs: object
    ) -> Sequence:
        return authoring.create_sequence(
            owner or admin,
            name=name,
            steps=[
                StepInput(subject=f"Hello {i}", body_html=f"<p>Body {i}</p>") for i in range(steps)
            ],
            clock=system_clock,
            **kwargs,  # type: ignore[arg-type]
        )

    return make


@pytest.fixture
def member_with(make_member: Callable[..., User]) -> Callable[[Sequence, str], User]:
    """A member whose level on ``sequence`` is ``level`` (or a workspace admin)."""

    def make(sequence: Sequence, level: str) -> User:
        if level == "admin":
            return make_member(role=Role.ADMIN, name="Another Admin")
        member = make_member(name=f"Member {level}")
        listing = access.access_list(sequence)
        access.set_access(
            sequence,
            workspace_access="no_access",
            members=[(i, lv.slug) for i, lv in listing.members] + [(member.pk, level)],
            teams=[],
        )
        return member

    return make
