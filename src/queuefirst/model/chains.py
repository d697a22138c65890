"""The chains the declarations allow, checked as a whole: asks down, answers back up the same edges.

Each declaration names what it asks (`asks`) and which answers it may send up
(`answers`). From these, for every ask one entity declares of another, the
registry knows every answer that can come back along that edge: the asked
declaration's own, and those its row's answer handlers send on when the
chain it started below comes back. The asker must handle each of them; an
answer handler nothing can reach is refused; a handler reached by an answer
that asks anything down would start the chain again (a loop) and is refused,
with the path; a held ask names an action that can be undone.

Since answers only retrace asks and handlers never ask, every chain goes down
the acyclic graph, then back up the way it came: at most twice its depth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from queuefirst.model.command import CREATE, DELETE
from queuefirst.model.declarations import ON_CREATE, ON_DELETE, Declaration, Kind
from queuefirst.model.entity import Entity

Fail = Callable[[str], Exception]


def asked(entity: Entity, op: str) -> Declaration | None:
    """The declaration a command `op` reaches at `entity` (a create its on_create, and so on)."""
    if op == CREATE:
        return entity.hook(ON_CREATE) or Declaration(ON_CREATE, Kind.HOOK, rule_required=False)
    if op == DELETE:
        return entity.hook(ON_DELETE) or Declaration(ON_DELETE, Kind.HOOK, rule_required=False)
    declared = entity.actions.get(op)
    return declared


def sends(entity: Entity, declaration: Declaration) -> Iterator[tuple[str, str]]:
    """(entity, op) of everything `declaration` may send down: its asks, and a delete's cascade."""
    yield from declaration.targets()
    if declaration.name == ON_DELETE:
        yield from ((child, DELETE) for child in entity.children)


class Chains:
    def __init__(self, entities: dict[str, Entity], fail: Fail) -> None:
        self.entities = entities
        self.fail = fail

    def replies(self, entity: Entity, declaration: Declaration) -> set[str]:
        """Every answer a chain started by `declaration` at `entity` may send up from it."""
        out = set(declaration.answers)
        for target, op in sends(entity, declaration):
            below = self.target(entity, declaration, target, op)
            for name in self.replies(self.entities[target], below):
                handler = entity.answer_handlers.get(name)
                if handler is not None:
                    out |= set(handler.answers)
        return out

    def target(self, entity: Entity, declaration: Declaration, target: str, op: str) -> Declaration:
        found = asked(self.entities[target], op) if target in self.entities else None
        if found is None:
            raise self.fail(
                f"{entity.name}.{declaration.name} asks {target}.{op}, which {target} does not declare"
            )
        return found

    def check(self) -> None:
        reachable: dict[str, set[str]] = {name: set() for name in self.entities}
        for entity in self.entities.values():
            for declaration in entity.declarations.values():
                self._check_holds(entity, declaration)
                for target, op in sends(entity, declaration):
                    below = self.target(entity, declaration, target, op)
                    for name in sorted(self.replies(self.entities[target], below)):
                        reachable[entity.name].add(name)
                        if name not in entity.answer_handlers:
                            raise self.fail(
                                f"{entity.name} asks {target}.{op}, which may answer {name!r} "
                                f"({entity.name} -> {target}.{op} -> {entity.name}.{name}): declare "
                                f"{entity.name}.answer({name!r}, ...) in {entity.name}'s contract"
                            )
        for entity in self.entities.values():
            for name, handler in entity.answer_handlers.items():
                if name not in reachable[entity.name]:
                    raise self.fail(
                        f"{entity.name}.answer({name!r}) answers nothing {entity.name} asks: no op it asks, "
                        "directly or down its chains, answers that"
                    )
                self._check_stays_up(entity, handler)

    def _check_stays_up(self, entity: Entity, handler: Declaration) -> None:
        if not handler.asks:
            return
        origin = self._origin(entity, handler.name)
        target = handler.asks[0]
        raise self.fail(
            f"loop through an answer: {origin} -> {entity.name}.{handler.name} (answer) -> {target}: "
            "a handler reached by an answer may change its row and answer further up, never ask down"
        )

    def _origin(self, entity: Entity, answer: str) -> str:
        for declaration in entity.declarations.values():
            for target, op in sends(entity, declaration):
                below = asked(self.entities[target], op) if target in self.entities else None
                if below is not None and answer in self.replies(self.entities[target], below):
                    return f"{entity.name}.{declaration.name} -> {target}.{op}"
        return entity.name

    def _check_holds(self, entity: Entity, declaration: Declaration) -> None:
        for held in declaration.holds:
            target, op = held.split(".", 1)
            action = self.entities[target].actions.get(op) if target in self.entities else None
            if action is None or action.undo is None:
                raise self.fail(
                    f"{entity.name}.{declaration.name} holds {held}, which cannot be given back: "
                    f"declare it in {target}'s contract with undo=<the action that gives it back>"
                )
            if action.undo not in self.entities[target].actions:
                raise self.fail(
                    f"{held} is undone by {target}.{action.undo}, which {target} does not declare"
                )

    def answer_edges(self) -> list[tuple[str, str]]:
        """(from, to) of every edge an answer can travel: the reverse of an ask that answers."""
        edges: set[tuple[str, str]] = set()
        for entity in self.entities.values():
            for declaration in entity.declarations.values():
                for target, op in sends(entity, declaration):
                    below = asked(self.entities[target], op) if target in self.entities else None
                    if below is not None and self.replies(self.entities[target], below):
                        edges.add((target, entity.name))
        return sorted(edges)
