"""What one pass over an API mailbox (Gmail, Microsoft Graph) holds, whatever the API."""

from __future__ import annotations

from sequencer.clock import Clock
from sequencer.domain.inbound import InboundHandler
from sequencer.mail.models import Mailbox
from sequencer.mail.providers.api import ApiClient
from sequencer.mail.sync import leases


class ApiPass:
    """A pass over one mailbox by the worker holding its lease.

    Subclasses name the function that builds their API client in ``make_api``.
    """

    @staticmethod
    def make_api(mailbox: Mailbox, clock: Clock) -> ApiClient:
        raise NotImplementedError

    def __init__(
        self,
        mailbox: Mailbox,
        *,
        owner: str,
        cursor_id: int,
        clock: Clock,
        act: InboundHandler,
        api: ApiClient | None = None,
    ) -> None:
        self.mailbox = mailbox
        self.act = act
        self.owner = owner
        self.cursor_id = cursor_id
        self.clock = clock
        self.api = api or self.make_api(mailbox, clock)
        self._keep_lease = leases.Keeper(cursor_id, owner, clock)
