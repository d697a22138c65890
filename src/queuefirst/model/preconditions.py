"""Preconditions: what an action, an admission or a delete requires of the row, declared in the contract.

Declared as data, not code, so the edge can check them without the entity's
rules: the api and the console check them on the row they read and answer a
courtesy 409 in the worker's own words; the worker checks the same
declarations, with this same code, before it runs the rule, and rejects the
command with that reason. Whatever the rule decides beyond them is the
worker's alone, and arrives as `rejected` on the command.

    Only(status="pending")                       # a field equals a value
    Only(status=("pending", "paid"))             # ... or one of several
    Only(active=True, reason="the product is not for sale")
    AtLeast("items", 1, reason="an order with no items cannot be paid")
    AtLeast("stock", given="quantity", reason="only {stock} in stock")
    Same("currency", given="currency", reason="the product is priced in {currency}")

A reason is a template over the row's fields, and `given` (the input's fields,
`{given.quantity}`). A requirement naming an input field the checker does not
have (the api checking an ask another entity will make) cannot tell, and passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

_MISSING = object()


class Requirement:
    """One declared precondition; `reason` overrides the default words of its refusal."""

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason

    @property
    def fields(self) -> frozenset[str]:
        """The row's fields it reads."""
        raise NotImplementedError

    @property
    def given_fields(self) -> frozenset[str]:
        """The input's fields it reads."""
        return frozenset()

    def holds(self, row: Mapping[str, Any], given: Mapping[str, Any]) -> bool | None:
        """Whether the row meets it (None: the input it needs is not known here)."""
        raise NotImplementedError

    def default_reason(self) -> str:
        raise NotImplementedError

    def refusal(self, row: Mapping[str, Any], given: Mapping[str, Any] | None = None) -> str | None:
        """The reason the row fails it, in the declaration's words; None if it holds (or cannot tell)."""
        given = given or {}
        if self.holds(row, given) is not False:
            return None
        template = self.reason or self.default_reason()
        values = {name: _shown(value) for name, value in row.items()}
        return template.format_map(_Blank(values | {"given": SimpleNamespace(**given)}))


class Only(Requirement):
    """Each named field equals the value given (or one of the values in a tuple)."""

    def __init__(self, reason: str | None = None, **equals: Any) -> None:
        if not equals:
            raise ValueError("Only(...) names at least one field")
        super().__init__(reason)
        self.equals = {k: v if isinstance(v, tuple) else (v,) for k, v in equals.items()}

    def __repr__(self) -> str:
        return f"Only({', '.join(f'{k}={v!r}' for k, v in self.equals.items())})"

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self.equals)

    def holds(self, row: Mapping[str, Any], given: Mapping[str, Any]) -> bool | None:
        return all(row.get(name) in values for name, values in self.equals.items())

    def default_reason(self) -> str:
        parts = [
            f"{name} is {' or '.join(_shown(v) for v in values)}" for name, values in self.equals.items()
        ]
        now = ", ".join(f"{{{name}}}" for name in self.equals)
        return f"only when {' and '.join(parts)}; it is {now}"


class AtLeast(Requirement):
    """A number field is at least a value, or at least an input field (`given=`)."""

    def __init__(
        self, name: str, value: float | None = None, *, given: str | None = None, reason: str | None = None
    ) -> None:
        if (value is None) == (given is None):
            raise ValueError(f"AtLeast({name!r}, ...) takes a value or given=, not both")
        super().__init__(reason)
        self.name, self.value, self.given = name, value, given

    def __repr__(self) -> str:
        return f"AtLeast({self.name!r}, {self.value if self.given is None else 'given=' + repr(self.given)})"

    @property
    def fields(self) -> frozenset[str]:
        return frozenset({self.name})

    @property
    def given_fields(self) -> frozenset[str]:
        return frozenset({self.given} if self.given else ())

    def holds(self, row: Mapping[str, Any], given: Mapping[str, Any]) -> bool | None:
        floor = self.value if self.given is None else given.get(self.given, _MISSING)
        if floor is _MISSING:
            return None
        return bool(row.get(self.name) is not None and row[self.name] >= floor)

    def default_reason(self) -> str:
        floor = f"{{given.{self.given}}}" if self.given else _shown(self.value)
        return f"{self.name} must be at least {floor}; it is {{{self.name}}}"


class Same(Requirement):
    """A field equals an input field."""

    def __init__(self, name: str, *, given: str, reason: str | None = None) -> None:
        super().__init__(reason)
        self.name, self.given = name, given

    def __repr__(self) -> str:
        return f"Same({self.name!r}, given={self.given!r})"

    @property
    def fields(self) -> frozenset[str]:
        return frozenset({self.name})

    @property
    def given_fields(self) -> frozenset[str]:
        return frozenset({self.given})

    def holds(self, row: Mapping[str, Any], given: Mapping[str, Any]) -> bool | None:
        wanted = given.get(self.given, _MISSING)
        return None if wanted is _MISSING else bool(row.get(self.name) == wanted)

    def default_reason(self) -> str:
        return f"{self.name} is {{{self.name}}}, not {{given.{self.given}}}"


def first_refusal(
    requirements: tuple[Requirement, ...], row: Mapping[str, Any], given: Mapping[str, Any] | None = None
) -> str | None:
    """The first requirement the row fails, in its words (None: all hold)."""
    for requirement in requirements:
        reason = requirement.refusal(row, given)
        if reason is not None:
            return reason
    return None


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Blank(dict[str, Any]):
    """Formatting values: a field the template names but the row lacks reads as empty."""

    def __missing__(self, key: str) -> str:
        return ""
