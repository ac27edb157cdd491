"""Reading and changing the workspace's AI configuration (admins change it).

The rules are in :mod:`sequencer.domain.ai_settings`. The API key is stored encrypted
(:mod:`sequencer.crypto`, as mailbox passwords are) and leaves this module only inside
:func:`generator_settings`, which the code that builds the configured text generator
calls; pages and API answers get :func:`current`, which says whether a key is set and
never holds it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from django.db import transaction
from django.db.models import Q

from sequencer.domain.ai_settings import GeneratorSettings, Provider, parse_provider, problems
from sequencer.domain.errors import InvalidInput
from sequencer.workspace.models import AiSettings, AuditEntry, User, Workspace

# The stored fields besides the key, in the page's order.
PLAIN_FIELDS = (
    "provider",
    "base_url",
    "model",
    "api_version",
    "max_tries",
    "max_phrase_chars",
    "max_paragraph_chars",
)


class InvalidSettings(InvalidInput):
    """Some fields cannot be saved: the first problem, and every one for the page."""

    def __init__(self, found: list[InvalidInput]) -> None:
        first = found[0]
        super().__init__(first.message, field=first.field, code=first.code)
        self.problems = found


@dataclass(frozen=True)
class AiSettingsState:
    """What a page or an API answer shows: the settings without the key, and whether one
    is set."""

    settings: GeneratorSettings
    api_key_set: bool


@dataclass(frozen=True)
class AiSettingsChange:
    """What to change; ``None`` leaves a field as it is. ``api_key=""`` removes the key."""

    provider: str | None = None
    base_url: str | None = None
    model: str | None = None
    api_key: str | None = None
    api_version: str | None = None
    max_tries: int | None = None
    max_phrase_chars: int | None = None
    max_paragraph_chars: int | None = None


def _settings_of(row: AiSettings | None, *, api_key: str = "") -> GeneratorSettings:
    if row is None:
        return GeneratorSettings()
    return GeneratorSettings(
        provider=Provider(row.provider),
        base_url=row.base_url,
        model=row.model,
        api_key=api_key,
        api_version=row.api_version,
        max_tries=row.max_tries,
        max_phrase_chars=row.max_phrase_chars,
        max_paragraph_chars=row.max_paragraph_chars,
    )


def current() -> AiSettingsState:
    """The settings for display (one query); the key is neither decrypted nor returned."""
    row = (
        AiSettings.objects.filter(workspace__in=Workspace.objects.order_by("id")[:1])
        .defer("api_key")
        .annotate(key_set=Q(api_key__isnull=False))
        .first()
    )
    return AiSettingsState(
        settings=_settings_of(row), api_key_set=bool(row is not None and row.key_set)
    )


def generator_settings() -> GeneratorSettings:
    """The settings the configured text generator is built from, the key decrypted.

    The defaults (the built-in local model) until an admin changes them. Raises
    :class:`sequencer.crypto.SecretUnreadable` when the stored key was encrypted with a
    secret no longer configured; its message says how to recover.
    """
    row = AiSettings.objects.filter(workspace__in=Workspace.objects.order_by("id")[:1]).first()
    return _settings_of(row, api_key=(row.api_key or "") if row is not None else "")


def _candidate(before: GeneratorSettings, change: AiSettingsChange) -> GeneratorSettings:
    given: dict[str, Any] = {
        f.name: getattr(change, f.name)
        for f in fields(change)
        if getattr(change, f.name) is not None and f.name != "provider"
    }
    for name in ("base_url", "model", "api_key", "api_version"):
        if name in given:
            given[name] = given[name].strip()
    return replace(before, **given)


def _checked(
    before: GeneratorSettings, change: AiSettingsChange
) -> tuple[GeneratorSettings, list[InvalidInput]]:
    found: list[InvalidInput] = []
    provider = before.provider
    if change.provider is not None:
        try:
            provider = parse_provider(change.provider)
        except InvalidInput as refused:
            found.append(refused)
    after = replace(_candidate(before, change), provider=provider)
    return after, found + problems(after)


def problems_of(change: AiSettingsChange) -> list[InvalidInput]:
    """What :func:`update` would refuse in ``change``, without saving anything (a form
    shows every refused field at once, even when some others did not parse)."""
    return _checked(generator_settings(), change)[1]


def _audit_view(settings: GeneratorSettings) -> dict[str, Any]:
    shown = asdict(settings)
    shown.pop("api_key")
    shown["provider"] = settings.provider.value
    return shown


@transaction.atomic
def update(actor: User, change: AiSettingsChange) -> AiSettingsState:
    """Apply ``change`` (admins only) after checking the result as a whole; the settings
    now in force. Nothing is saved when a field is refused (:class:`InvalidSettings`)."""
    if not actor.is_admin:
        raise PermissionError("Only workspace admins can change the AI settings.")
    workspace = Workspace.objects.select_for_update().order_by("id").first()
    if workspace is None:
        raise InvalidInput("Set the workspace up first.", code="not_set_up")
    row = AiSettings.objects.filter(workspace=workspace).first()
    before = _settings_of(row, api_key=(row.api_key or "") if row is not None else "")
    after, found = _checked(before, change)
    if found:
        raise InvalidSettings(found)
    if row is None:
        row = AiSettings(workspace=workspace)
    for name in PLAIN_FIELDS:
        value = getattr(after, name)
        setattr(row, name, value.value if isinstance(value, Provider) else value)
    row.api_key = after.api_key or None
    row.save()
    key_change = (
        "unchanged"
        if after.api_key == before.api_key
        else ("removed" if not after.api_key else "set")
    )
    if _audit_view(before) != _audit_view(after) or key_change != "unchanged":
        AuditEntry.objects.create(
            actor=actor,
            action="workspace.ai_settings_changed",
            target=f"workspace:{workspace.pk}",
            # The key itself never reaches the audit trail: only whether it changed.
            detail={
                "before": _audit_view(before),
                "after": _audit_view(after),
                "api_key": key_change,
            },
        )
    return AiSettingsState(settings=replace(after, api_key=""), api_key_set=bool(after.api_key))


__all__ = [
    "AiSettingsChange",
    "AiSettingsState",
    "InvalidSettings",
    "current",
    "generator_settings",
    "problems_of",
    "update",
]
