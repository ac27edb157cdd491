"""The states of a sending mailbox, shared by the packages that read them.

The stored values are those of :class:`sequencer.mail.models.MailboxStatus`; sequences
compare against this enum so that they need not import the mail package.
"""

from __future__ import annotations

from enum import StrEnum


class MailboxStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # a quota or rate limit: its emails wait until it resumes
    DISCONNECTED = "disconnected"  # a person must reconnect it
