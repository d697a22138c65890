"""The registry: every entity of an application, checked as one graph.

The hierarchy must be a DAG whose edges both sides agree on: a child names
its parent and the parent lists the child. A registry that breaks this is
refused when it is built, with a message naming the entities involved.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from queuefirst.model.entity import Entity


class RegistryError(ValueError):
    """The declared entities do not form a valid hierarchy."""


class Registry(Mapping[str, Entity]):
    def __init__(self, app: str, entities: Iterable[Entity]) -> None:
        self.app = app
        self._entities: dict[str, Entity] = {}
        for entity in entities:
            if entity.name in self._entities:
                raise RegistryError(f"duplicate entity name: {entity.name}")
            self._entities[entity.name] = entity
        self._check_edges()
        self._check_acyclic()

    def __getitem__(self, name: str) -> Entity:
        return self._entities[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entities)

    def __len__(self) -> int:
        return len(self._entities)

    def require(self, name: str) -> Entity:
        """The entity, or an error naming the ones there are."""
        if name not in self._entities:
            raise RegistryError(f"unknown entity {name!r}; known: {', '.join(self._entities)}")
        return self._entities[name]

    def roots(self) -> list[Entity]:
        return [e for e in self._entities.values() if e.parent is None]

    def _check_edges(self) -> None:
        for entity in self._entities.values():
            if entity.parent is not None and entity.parent not in self._entities:
                raise RegistryError(f"{entity.name}: unknown parent {entity.parent}")
            for child in entity.children:
                if child not in self._entities:
                    raise RegistryError(f"{entity.name}: unknown child {child}")
                if self._entities[child].parent != entity.name:
                    raise RegistryError(
                        f"{entity.name} lists child {child}, "
                        f"but {child} names parent {self._entities[child].parent}"
                    )
            if entity.parent is not None and entity.name not in self._entities[entity.parent].children:
                raise RegistryError(
                    f"{entity.name} names parent {entity.parent}, which does not list it among its children"
                )

    def _check_acyclic(self) -> None:
        # Depth-first search over child edges; the path in progress names the cycle.
        done: set[str] = set()

        def visit(name: str, path: list[str]) -> None:
            if name in path:
                cycle = [*path[path.index(name) :], name]
                raise RegistryError("cycle in entity hierarchy: " + " -> ".join(cycle))
            if name in done:
                return
            for child in self._entities[name].children:
                visit(child, [*path, name])
            done.add(name)

        for name in self._entities:
            visit(name, [])
