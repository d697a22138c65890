"""Where a producer sends a write: to its entity's queue, or, where the parent admits it, to the parent's.

An order item's create goes to the orders queue, in its order's lane, as an
`admit` command for the order row: the orders worker decides it there, after
everything the order did before, then carries it on to the items queue. The
api, the console and the kit's test harness all route writes with this one
function.
"""

from __future__ import annotations

from dataclasses import dataclass

from queuefirst.model.command import ADMIT, Command
from queuefirst.model.declarations import Declaration
from queuefirst.model.registry import Registry


@dataclass(frozen=True)
class ParentRow:
    key: str
    parent: str | None  # the parent's own parent: its lane
    version: int  # the version of the last command applied to it


def admission(registry: Registry, entity: str, op: str) -> Declaration | None:
    """The parent's admission that decides `op` on `entity`'s rows, if its parent declares one."""
    parent = registry[entity].parent
    if parent is None:
        return None
    declared = registry[parent].admissions.get(entity)
    return declared if declared is not None and op in declared.ops else None


def through_parent(registry: Registry, command: Command, parent: ParentRow) -> Command:
    """`command` (a write its parent admits) as the parent's `admit` command: same id, in the
    parent row's lane, at a version after both the row's and the parent's last."""
    write = {"entity": command.entity, "op": command.op, "key": command.key, "payload": command.payload}
    parent_entity = registry[command.entity].parent
    assert parent_entity is not None
    return command.model_copy(
        update={
            "entity": parent_entity,
            "op": ADMIT,
            "key": parent.key,
            "parent": parent.parent,
            "version": max(command.version, parent.version + 1),
            "payload": write,
        }
    )
