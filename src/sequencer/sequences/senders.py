"""What sequences read of a sending mailbox, without importing the mail package.

Mailboxes belong to :mod:`sequencer.mail`; sequences only point at them (string foreign
keys) and read a few fields. The rows are reached through related managers
(``user.mailboxes``) or :func:`mailboxes`, so neither package imports the other.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.db.models import QuerySet

from sequencer.domain.mailbox import MailboxStatus
from sequencer.sequences.models import Enrollment

__all__ = ["MailboxStatus", "SendingMailbox", "mailboxes"]


class SendingMailbox(Protocol):
    """The fields of a mailbox that enrolling, delegating and rendering read."""

    @property
    def pk(self) -> Any: ...

    @property
    def email(self) -> str: ...

    @property
    def display_name(self) -> str: ...

    @property
    def owner_id(self) -> int: ...

    @property
    def status(self) -> str: ...

    @property
    def proof_missing(self) -> str | None: ...


def mailboxes() -> QuerySet[Any]:
    """All mailbox rows, reached through the enrollment's foreign key to them."""
    model = Enrollment._meta.get_field("mailbox").related_model
    assert model is not None and not isinstance(model, str)
    return model._default_manager.all()
