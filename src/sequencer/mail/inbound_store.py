"""Storing what arrives in a mailbox, and handing it to whoever acts on it.

Every message a sync reads goes through :func:`ingest`: it is classified
(:func:`sequencer.mail.inbound.classify`) and stored once per mailbox and Message-ID as an
:class:`~sequencer.mail.models.InboundMessage` with its raw bytes. Then the reader's
``act`` handler (an :data:`~sequencer.domain.inbound.InboundHandler`; the engine passes
:func:`sequencer.sequences.inbound.act`) acts on it, inside the transaction that locks
the stored row and marks it processed, so a message is acted on once however many
workers read it. The mail package knows protocols and messages; what a reply or a
bounce does to an enrollment is the sequences package's business.

**Locks**: the stored message is inserted in a transaction of its own (an insert that
names the mailbox takes a key-share lock on it, which must not be held while waiting for
an enrollment); acting on it locks the message's row, then the handler follows the
lifecycle's order (enrollment, then its emails).

Every stored message keeps its raw bytes as read, whether or not the handler tied it
to an enrollment, so that what was decided about any message can be checked against
the message itself; only :data:`MAX_STORED_BYTES` bounds them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from sequencer.clock import Clock
from sequencer.domain.inbound import Arrival, InboundEvent, InboundHandler
from sequencer.mail.inbound import classify
from sequencer.mail.models import InboundMessage, Mailbox

log = logging.getLogger(__name__)

# How long a message whose handling failed is tried again.
RETRY_UNFINISHED = timedelta(days=1)
#: The most of one message that is classified and stored: its first 10 MiB. Gmail and
#: Microsoft accept messages several times larger, and without a bound one message
#: could cost the database that much; the header, the text and any delivery report
#: come first in a message, so what a cut loses is the tail of a large attachment,
#: which nothing here reads. The IMAP reader fetches no more than this to begin with.
MAX_STORED_BYTES = 10 * 1024 * 1024


def message_key(message_id: str | None, raw: bytes) -> str:
    """What identifies a message within a mailbox: its Message-ID, or for a message
    without one a stand-in made from its bytes."""
    if message_id and message_id.strip():
        return message_id.strip()[:998]
    return f"<sha256.{hashlib.sha256(raw).hexdigest()}@no-message-id.invalid>"


def known_message_ids(mailbox: Mailbox, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` (Message-IDs) this mailbox already stored and acted on."""
    wanted = {i for i in ids if i}
    if not wanted:
        return set()
    return set(
        InboundMessage.objects.filter(
            mailbox=mailbox, message_id__in=wanted, processed_at__isnull=False
        ).values_list("message_id", flat=True)
    )


def known_provider_ids(mailbox: Mailbox, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` (Gmail or Graph message ids) this mailbox already stored and
    acted on, so that they are not downloaded again."""
    wanted = {i for i in ids if i}
    if not wanted:
        return set()
    return set(
        InboundMessage.objects.filter(
            mailbox=mailbox, provider_id__in=wanted, processed_at__isnull=False
        ).values_list("provider_id", flat=True)
    )


# -- storing and handing over ---------------------------------------------------------


def ingest(
    mailbox: Mailbox,
    raw: bytes,
    *,
    received_at: datetime | None,
    clock: Clock,
    act: InboundHandler,
    folder: str = "",
    uid: int | None = None,
    uidvalidity: int | None = None,
    provider_id: str = "",
    provider_thread_id: str = "",
) -> InboundMessage | None:
    """Store one message read from ``mailbox`` and have ``act`` act on it.

    Returns the stored message, or ``None`` when it had been stored and acted on before
    (reading a message twice is harmless). ``received_at`` is the provider's arrival
    time; one later than the engine's clock is taken as now. Of a message larger than
    :data:`MAX_STORED_BYTES`, that many of its first bytes are kept.
    """
    raw = bytes(raw[:MAX_STORED_BYTES])
    now = clock.now()
    received = min(received_at, now) if received_at is not None else now
    event = classify(raw, mailbox_address=mailbox.email, received_at=received)
    key = message_key(event.message_id, raw)
    try:
        with transaction.atomic():
            inbound = InboundMessage.objects.create(
                mailbox=mailbox,
                folder=folder,
                uidvalidity=uidvalidity,
                uid=uid,
                provider_id=provider_id[:255],
                provider_thread_id=provider_thread_id[:255],
                message_id=key,
                from_address=(event.from_address or "")[:254],
                subject=event.subject[:998],
                raw=raw,
                received_at=received,
                kind=event.kind,
            )
    except IntegrityError:
        existing = (
            InboundMessage.objects.filter(mailbox=mailbox, message_id=key)
            .only("pk", "processed_at")
            .first()
        )
        if existing is None or existing.processed_at is not None:
            return None
        inbound = existing  # stored by a run that stopped before acting on it
    try:
        apply_event(inbound.pk, event, mailbox, clock=clock, act=act)
    except Exception:
        # Kept unprocessed: process_unfinished tries again on the next passes, and the
        # reader moves on, so that one message cannot stop a mailbox from being read.
        log.exception(
            "acting on inbound message %s of %s failed",
            key,
            mailbox.email,
            extra={"mailbox": mailbox.pk},
        )
    return inbound


def process_unfinished(
    mailbox: Mailbox, *, clock: Clock, act: InboundHandler, limit: int = 50
) -> int:
    """Act on messages that were stored but not acted on (a pass stopped in between, or
    acting failed); each is tried again for :data:`RETRY_UNFINISHED`."""
    done = 0
    for inbound in InboundMessage.objects.filter(
        mailbox=mailbox,
        processed_at__isnull=True,
        created_at__gte=clock.now() - RETRY_UNFINISHED,
    ).order_by("created_at")[:limit]:
        raw = bytes(inbound.raw)
        event = classify(raw, mailbox_address=mailbox.email, received_at=inbound.received_at)
        try:
            apply_event(inbound.pk, event, mailbox, clock=clock, act=act)
        except Exception:
            log.exception(
                "acting on inbound message %s failed again",
                inbound.message_id,
                extra={"mailbox": mailbox.pk},
            )
            continue
        done += 1
    return done


def apply_event(
    inbound_id: int,
    event: InboundEvent,
    mailbox: Mailbox,
    *,
    clock: Clock,
    act: InboundHandler,
) -> None:
    """Have ``act`` act on the stored message ``inbound_id``, once."""
    thread_id = _thread_of(inbound_id)
    with transaction.atomic():
        inbound = (
            InboundMessage.objects.select_for_update()
            .only("pk", "processed_at", "enrollment_id")
            .get(pk=inbound_id)
        )
        if inbound.processed_at is not None:
            return  # another run acted on it meanwhile
        now = clock.now()
        enrollment_id = act(
            Arrival(
                inbound_id=inbound.pk,
                mailbox_id=mailbox.pk,
                mailbox_email=mailbox.email,
                mailbox_owner_id=mailbox.owner_id,
                thread_id=thread_id,
                event=event,
                now=now,
            )
        )
        InboundMessage.objects.filter(pk=inbound_id).update(
            processed_at=now, enrollment_id=enrollment_id
        )


def _thread_of(inbound_id: int) -> str:
    return str(
        InboundMessage.objects.filter(pk=inbound_id)
        .values_list("provider_thread_id", flat=True)
        .first()
        or ""
    )


__all__ = [
    "MAX_STORED_BYTES",
    "RETRY_UNFINISHED",
    "apply_event",
    "ingest",
    "known_message_ids",
    "known_provider_ids",
    "message_key",
    "process_unfinished",
]
