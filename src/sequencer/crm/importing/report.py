"""What an import did: how many records it created and updated, and each row it refused."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RowError:
    line: int
    message: str
    field: str | None = None


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """Rows not imported (each failed row has exactly one error)."""
        return len(self.errors)
