"""The registry refuses bad hierarchies at load time, naming the entities."""

import pytest
from pydantic import BaseModel

from queuefirst.model.entity import Entity, Scaling
from queuefirst.model.registry import Registry, RegistryError
from shop import application as shop


class Fields(BaseModel):
    name: str


def entity(name: str, parent: str | None = None, children: tuple[str, ...] = ()) -> Entity:
    return Entity(
        name=name,
        fields=Fields,
        parent=parent,
        parent_field=f"{parent}_id" if parent else None,
        children=children,
    )


def test_shop_registry_is_a_valid_dag() -> None:
    registry = shop.registry()
    assert sorted(registry) == ["customers", "order_items", "orders", "products"]
    assert registry["orders"].parent == "customers"
    assert registry["customers"].children == ("orders",)
    assert [e.name for e in registry.roots()] == ["customers", "products"]


def test_cycle_is_refused_and_named() -> None:
    with pytest.raises(
        RegistryError,
        match=r"cycle in entity hierarchy: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)",
    ):
        Registry("app", [entity("a", "c", ("b",)), entity("b", "a", ("c",)), entity("c", "b", ("a",))])


def test_self_cycle_is_refused() -> None:
    with pytest.raises(RegistryError, match="cycle in entity hierarchy: a -> a"):
        Registry("app", [entity("a", "a", ("a",))])


def test_unknown_parent_is_named() -> None:
    with pytest.raises(RegistryError, match="orders: unknown parent customers"):
        Registry("app", [entity("orders", "customers")])


def test_unknown_child_is_named() -> None:
    with pytest.raises(RegistryError, match="customers: unknown child orders"):
        Registry("app", [entity("customers", children=("orders",))])


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(RegistryError, match="duplicate entity name: customers"):
        Registry("app", [entity("customers"), entity("customers")])


def test_edges_must_agree_on_both_sides() -> None:
    with pytest.raises(RegistryError, match="orders names parent customers, which does not list it"):
        Registry("app", [entity("customers"), entity("orders", "customers")])
    with pytest.raises(RegistryError, match="customers lists child orders, but orders names parent None"):
        Registry("app", [entity("customers", children=("orders",)), entity("orders")])


def test_entity_rejects_reserved_field_names_and_bad_names() -> None:
    class WithId(BaseModel):
        id: str

    with pytest.raises(ValueError, match="may not be named"):
        Entity(name="things", fields=WithId)
    with pytest.raises(ValueError, match="must match"):
        Entity(name="Things!", fields=Fields)


def test_visibility_timeout_is_six_times_the_timeout() -> None:
    assert Scaling(timeout_seconds=40).visibility_timeout_seconds == 240
