"""The registry: every entity of an application, checked as one graph.

Two kinds of edge go down: a parent sends commands to its children (cascades,
admitted writes and parent-scoped asks), and an entity asks the entities it
declares in `asks` (an order item asks its product to reserve stock). Parent
and child must both declare their edge, and the graph of these edges must be
acyclic, so no chain of commands can come back to an entity it passed.
Answers go back up only along the edges they answer (`queuefirst.model.chains`
checks them). A registry that breaks this is refused when it is built, with a
message naming the entities and edges involved.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from queuefirst.model.access import Owner
from queuefirst.model.chains import Chains
from queuefirst.model.entity import Entity

CHILD, ASKS, ANSWERS = "child", "asks", "answers"


class RegistryError(ValueError):
    """The declared entities do not form a valid graph."""


class Registry(Mapping[str, Entity]):
    def __init__(self, app: str, entities: Iterable[Entity]) -> None:
        self.app = app
        self._entities: dict[str, Entity] = {}
        for entity in entities:
            if entity.name in self._entities:
                raise RegistryError(f"duplicate entity name: {entity.name}")
            self._entities[entity.name] = entity
        self._check_hierarchy()
        self._check_asks()
        self._check_acyclic()
        self._chains = Chains(self._entities, RegistryError)
        self._chains.check()
        self._check_access()

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

    def edges(self) -> list[tuple[str, str, str]]:
        """(from, to, kind) for every edge a command travels down, children first."""
        return [
            (entity.name, target, kind)
            for entity in self._entities.values()
            for kind, targets in ((CHILD, entity.children), (ASKS, entity.asks))
            for target in targets
        ]

    def answer_edges(self) -> list[tuple[str, str, str]]:
        """(from, to, "answers") for every edge an answer travels back up."""
        return [(source, target, ANSWERS) for source, target in self._chains.answer_edges()]

    def senders(self, entity: str) -> list[str]:
        """The entities that send commands to `entity`: its parent, its askers, and those it answers."""
        down = [source for source, target, _ in self.edges() if target == entity]
        up = [source for source, target, _ in self.answer_edges() if target == entity]
        return sorted({*down, *up})

    def sends_to(self, entity: str) -> list[str]:
        """Every entity whose queue `entity`'s worker may send to (its IAM, its sender's list)."""
        down = list(self._entities[entity].sends_to)
        up = [target for source, target, _ in self.answer_edges() if source == entity]
        return sorted({*down, *up})

    def _check_hierarchy(self) -> None:
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

    def _check_asks(self) -> None:
        for entity in self._entities.values():
            for target in entity.asks:
                if target not in self._entities:
                    raise RegistryError(f"{entity.name} asks unknown entity {target}")
                if target in entity.children:
                    raise RegistryError(f"{entity.name} asks {target}, already its child: list it once")
                if target == entity.name:
                    raise RegistryError(
                        f"{entity.name} asks itself: a command may not come back to its entity"
                    )

    def _check_access(self) -> None:
        """An entity owned through its parent needs a parent that end users own."""
        for entity in self._entities.values():
            if entity.access.owner is not Owner.PARENT:
                continue
            if entity.parent is None:
                raise RegistryError(f"{entity.name} is owned through its parent, but has no parent")
            if not self._entities[entity.parent].access.owned:
                raise RegistryError(
                    f"{entity.name} is owned through its parent {entity.parent}, "
                    f"which no end user owns: declare {entity.parent}'s access"
                )

    def owner_chain(self, entity: Entity) -> list[Entity]:
        """The entity and its parents up to the one owned by self (for an owned entity)."""
        chain = [entity]
        while chain[-1].access.owner is Owner.PARENT and chain[-1].parent is not None:
            chain.append(self._entities[chain[-1].parent])
        return chain

    def _check_acyclic(self) -> None:
        outgoing: dict[str, list[tuple[str, str]]] = {name: [] for name in self._entities}
        for source, target, kind in self.edges():
            outgoing[source].append((target, kind))
        done: set[str] = set()
        for name in self._entities:
            _refuse_cycles_from(name, outgoing, done)


def _refuse_cycles_from(start: str, outgoing: dict[str, list[tuple[str, str]]], done: set[str]) -> None:
    """Depth-first from `start`; raise naming the first cycle found, with each edge's kind."""
    path: list[str] = []
    kinds: list[str] = []  # kinds[i]: the edge from path[i] to path[i + 1]

    def visit(name: str) -> None:
        if name in path:
            first = path.index(name)
            cycle = [*path[first:], name]
            edges = kinds[first:]
            hops = " -> ".join(f"{target} ({kind})" for target, kind in zip(cycle[1:], edges, strict=True))
            raise RegistryError(
                f"cycle in entity graph: {cycle[0]} -> {hops}; "
                "a chain of commands may not return to an entity it passed"
            )
        if name in done:
            return
        path.append(name)
        for target, kind in outgoing[name]:
            kinds.append(kind)
            visit(target)
            kinds.pop()
        path.pop()
        done.add(name)

    visit(start)
