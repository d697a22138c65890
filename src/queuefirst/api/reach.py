"""What a principal may reach: operators every row, end users their own (and what all may read).

A row out of an end user's reach answers exactly as a row that does not
exist: 404 with the same message, never 403, so ids cannot be probed. That
holds wherever an id comes in: the path, a child's parent field, a reference,
a list's parent filter and its `after` cursor, a command's status.
"""

from __future__ import annotations

from typing import Any

from queuefirst.api.errors import NotFound
from queuefirst.model.access import Owner
from queuefirst.model.entity import Entity
from queuefirst.model.principal import Principal
from queuefirst.store.database import Connection
from queuefirst.store.reader import Reader


def absent(entity: Entity, key: str, field: str | None = "id") -> NotFound:
    return NotFound(f"no {entity.name} with id {key}", field=field)


class Reach:
    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def owns(self, conn: Connection, principal: Principal, entity: Entity, key: str) -> bool:
        return entity.access.owned and self.reader.owner(conn, entity, key) == principal.subject

    def may_read(self, conn: Connection, principal: Principal, entity: Entity, key: str) -> bool:
        return (
            principal.is_operator or entity.access.readable_by_all or self.owns(conn, principal, entity, key)
        )

    def may_write(self, conn: Connection, principal: Principal, entity: Entity, key: str) -> bool:
        return principal.is_operator or self.owns(conn, principal, entity, key)

    def check_read(
        self, conn: Connection, principal: Principal, entity: Entity, key: str, field: str = "id"
    ) -> None:
        if not self.may_read(conn, principal, entity, key):
            raise absent(entity, key, field)

    def check_write(
        self, conn: Connection, principal: Principal, entity: Entity, key: str, field: str = "id"
    ) -> None:
        if not self.may_write(conn, principal, entity, key):
            raise absent(entity, key, field)

    def check_new_row(self, principal: Principal, entity: Entity, key: str) -> None:
        """An end user creates rows only where they own rows; a row owned by self, only their own."""
        if principal.is_operator:
            return
        if not entity.access.owned:
            raise NotFound(f"end users do not create {entity.name}", field=None)
        if entity.access.owner is Owner.SELF and key != principal.subject:
            raise NotFound(
                f"an end user creates only their own {entity.name} row (its id is the token's sub)",
                field="id",
            )

    def list_owner(self, principal: Principal, entity: Entity) -> str | None:
        """Whose rows a list shows: None for all (operators, or an entity all may read)."""
        if principal.is_operator or entity.access.readable_by_all:
            return None
        if not entity.access.owned:
            raise NotFound(f"end users do not read {entity.name}", field=None)
        return principal.subject

    def command_visible(self, principal: Principal, producer: dict[str, Any] | None) -> bool:
        """An end user sees the status of the commands they sent, and no others'."""
        return principal.is_operator or (producer or {}).get("principal") == principal.label
