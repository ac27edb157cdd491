"""Who an email is from, as rendering needs it, and which signature it carries.

Signatures belong to the member's mailbox, not to the sequence: the same sequence is sent
from many members' mailboxes. So a sequence chooses a signature *by name*
(``settings.signature``):

* ``"default"`` (the default setting): the sending mailbox's default signature;
* any other text: the sending mailbox's signature with that name (names are compared
  ignoring case and surrounding blanks); a sender without one by that name uses their
  default, so a colleague without that signature still signs their emails.

``settings.include_signature`` turns signatures off altogether.

A template may also write the sender into an email with ``{{ sender.<field> }}``
(:data:`SENDER_VARIABLES`): the member who owns the sending mailbox, which for a delegated
sender is the delegate, never the colleague who enrolled. Their name is the member's own
(the mailbox's display name when the member has none); a member has no job title, so
there is no ``sender.job_title``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sequencer.domain.errors import InvalidInput

DEFAULT_SIGNATURE = "default"
MAX_SIGNATURE_NAME_LENGTH = 200

# What ``{{ sender.x }}`` may name, with what a composer calls each.
SENDER_LABELS: dict[str, str] = {
    "first_name": "Sender's first name",
    "last_name": "Sender's last name",
    "full_name": "Sender's full name",
    "email": "Sender's email address",
}
SENDER_VARIABLES: frozenset[str] = frozenset(SENDER_LABELS)


@dataclass(frozen=True)
class SenderSignature:
    name: str
    html: str
    is_default: bool = False


@dataclass(frozen=True)
class Sender:
    """The sending mailbox as plain values: its address, name and signatures."""

    email: str
    name: str = ""
    signatures: tuple[SenderSignature, ...] = ()
    # The member who owns the mailbox: an unsubscribe blocks every mailbox of theirs.
    owner_id: int | None = None
    # That member's own name, for ``{{ sender.first_name }}`` and the like.
    owner_name: str = ""

    @classmethod
    def of(
        cls,
        email: str,
        name: str = "",
        signatures: Iterable[SenderSignature] = (),
        owner_id: int | None = None,
        owner_name: str = "",
    ) -> Sender:
        return cls(
            email=email,
            name=name,
            signatures=tuple(signatures),
            owner_id=owner_id,
            owner_name=owner_name,
        )


def sender_values(sender: Sender) -> dict[str, str | None]:
    """The values of ``{{ sender.<field> }}``; a blank is ``None`` (as for a person).

    The first name is the first word of the full name and the last name the rest: a
    member has one name field, and "Mary Ann Smith" is more often first + last than not.
    """
    full = " ".join((sender.owner_name.strip() or sender.name.strip()).split())
    first, _, last = full.partition(" ")
    values = {"first_name": first, "last_name": last, "full_name": full, "email": sender.email}
    return {key: value or None for key, value in values.items()}


def choose_signature(signatures: Iterable[SenderSignature], choice: str) -> SenderSignature | None:
    """The signature ``choice`` names among ``signatures`` (see the module's rule)."""
    available = list(signatures)
    wanted = _key(choice)
    if wanted != DEFAULT_SIGNATURE:
        for signature in available:
            if _key(signature.name) == wanted:
                return signature
    for signature in available:
        if signature.is_default:
            return signature
    return None


def parse_signature_choice(value: object, *, field: str = "settings.signature") -> str:
    """A valid ``settings.signature``: ``"default"`` or a signature's name."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            f'{field} must be "default" (the sender\'s default signature) or the name '
            'of a signature, e.g. "Short".',
            field=field,
            code="invalid_signature",
        )
    name = value.strip()
    if len(name) > MAX_SIGNATURE_NAME_LENGTH:
        raise InvalidInput(
            f"{field} is longer than {MAX_SIGNATURE_NAME_LENGTH} characters, the longest "
            "a signature's name can be.",
            field=field,
            code="too_long",
        )
    return DEFAULT_SIGNATURE if _key(name) == DEFAULT_SIGNATURE else name


def _key(name: str) -> str:
    return name.strip().casefold()
