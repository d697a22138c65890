"""The rows a batch works on, in memory: loaded (and locked) at its start, written at its end.

Each command is applied to this working set on its own: what it changes is
noted first, so a command whose decide function misbehaves is undone
exactly, and the commands before it in its lane keep their effect.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from queuefirst.model.command import Command

_ABSENT = object()


@dataclass
class StoredRow:
    key: str
    parent: str | None
    alive: bool
    values: dict[str, Any]
    stamp: str
    stored: bool  # in the table when the batch began (else it is inserted)
    # What this row holds from its asks (a reservation's stock), until it withdraws or settles
    # them: each the ask's id, entity, op, key, parent and payload.
    holds: tuple[dict[str, Any], ...] = ()


@dataclass
class Working:
    rows: dict[str, StoredRow] = field(default_factory=dict)
    # The newest cascade each parent has seen (child entities only).
    markers: dict[str, Command] = field(default_factory=dict)
    # The rows under each parent that its cascades reached and left where they were (their rules
    # refused the delete), still alive: judged again by the cascade after each change.
    kept: dict[str, frozenset[str]] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    changed_markers: set[str] = field(default_factory=set)  # its marker, or what it kept, changed
    _undo: list[tuple[str, str, object, bool]] = field(default_factory=list)

    def under(self, parent: str) -> list[StoredRow]:
        return sorted((r for r in self.rows.values() if r.parent == parent), key=lambda r: r.key)

    def put(self, row: StoredRow) -> None:
        previous = self.rows.get(row.key)
        self._undo.append(
            ("row", row.key, previous if previous is not None else _ABSENT, row.key in self.changed)
        )
        self.rows[row.key] = replace(row, values=dict(row.values))
        self.changed.add(row.key)

    def mark(self, parent: str, command: Command) -> None:
        current = self.markers.get(parent)
        if current is None or command.stamp > current.stamp:
            previous = current if current is not None else _ABSENT
            self._undo.append(("marker", parent, previous, parent in self.changed_markers))
            self.markers[parent] = command
            self.changed_markers.add(parent)

    def keep(self, parent: str, key: str) -> None:
        """The cascade `parent` saw left the row `key` alive."""
        self._kept(parent, self.kept.get(parent, frozenset()) | {key})

    def let_go(self, parent: str, key: str) -> None:
        """The row `key` is kept no more (it is deleted)."""
        if key in self.kept.get(parent, frozenset()):
            self._kept(parent, self.kept[parent] - {key})

    def _kept(self, parent: str, keys: frozenset[str]) -> None:
        previous = self.kept.get(parent, _ABSENT)
        if previous == keys:
            return
        self._undo.append(("kept", parent, previous, parent in self.changed_markers))
        self.kept[parent] = keys
        self.changed_markers.add(parent)

    def begin(self) -> None:
        self._undo.clear()

    def undo(self) -> None:
        """Take back everything since `begin`, newest first."""
        for kind, key, previous, was_changed in reversed(self._undo):
            stores: dict[str, dict[str, Any]] = {"row": self.rows, "marker": self.markers, "kept": self.kept}
            store = stores[kind]
            changed = self.changed if kind == "row" else self.changed_markers
            if previous is _ABSENT:
                store.pop(key, None)
            else:
                store[key] = previous
            if not was_changed:
                changed.discard(key)
        self._undo.clear()
