"""Names of each entity's tables and bookkeeping columns: spelled once for SQL and schema."""

from __future__ import annotations

from dataclasses import dataclass

ALIVE = "alive"
STAMP = "stamp"
# What a row holds from its asks (entities whose declarations hold some): see Working.StoredRow.
HOLDS = "holds"


@dataclass(frozen=True)
class TableNames:
    entity: str

    @property
    def rows(self) -> str:
        return self.entity

    @property
    def commands(self) -> str:
        return f"{self.entity}__commands"

    @property
    def failures(self) -> str:
        return f"{self.entity}__failures"

    @property
    def markers(self) -> str:
        return f"{self.entity}__markers"
