"""Who may reach an entity's rows: declared beside its fields, in its module.

Two populations call an application (`queuefirst.model.principal`): end users,
signed in to the application's own user pool, and operators, signed in to a
pool of their own. Operators reach every row. An end user reaches the rows
they own, and the entity says who owns a row:

- `OWNED_BY_SELF`: the row *is* its owner; its id is the end user's subject
  (`sub` claim). The shop's customers.
- `OWNED_THROUGH_PARENT`: the row belongs to whoever owns its parent, up the
  parent chain to an entity owned by self. Orders, and their order items.
- nobody (the default, `Access()`): no end user owns a row, so no end user
  reaches one; operators alone read and change the entity. An entity that
  declares nothing is therefore closed to end users: safe by default.

`readable_by_all=True` lets every signed-in end user read every row (a
catalogue: the shop's products); writes stay with the owners, so with no
owner they are operators' alone.

From this the api's routes, their authorizers (`queuefirst.model.http_routes`),
the OpenAPI document's security and the api's checks are all generated.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Owner(StrEnum):
    NOBODY = "nobody"
    SELF = "self"
    PARENT = "parent"


@dataclass(frozen=True)
class Access:
    owner: Owner = Owner.NOBODY
    readable_by_all: bool = False

    @property
    def owned(self) -> bool:
        """End users own rows of this entity (and so may read and change their own)."""
        return self.owner is not Owner.NOBODY

    @property
    def users_read(self) -> bool:
        """End users may read (some of) its rows."""
        return self.owned or self.readable_by_all

    @property
    def users_write(self) -> bool:
        """End users may create, change and delete (their own) rows."""
        return self.owned


OWNED_BY_SELF = Access(owner=Owner.SELF)
OWNED_THROUGH_PARENT = Access(owner=Owner.PARENT)
OPERATORS_ONLY = Access()
