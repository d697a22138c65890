"""The registry refuses bad hierarchies at load time, naming the entities."""

import pytest
from pydantic import BaseModel

from queuefirst.model.entity import Entity, Scaling
from queuefirst.model.registry import Registry, RegistryError
from shop import application as shop


class Fields(BaseModel):
    name: str


def entity(
    name: str, parent: str | None = None, children: tuple[str, ...] = (), asks: tuple[str, ...] = ()
) -> Entity:
    return Entity(
        name=name,
        fields=Fields,
        parent=parent,
        parent_field=f"{parent}_id" if parent else None,
        children=children,
        asks=asks,
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
        match=r"cycle in entity graph: a -> b \(child\) -> c \(child\) -> a \(child\)",
    ):
        Registry("app", [entity("a", "c", ("b",)), entity("b", "a", ("c",)), entity("c", "b", ("a",))])


def test_self_cycle_is_refused() -> None:
    with pytest.raises(RegistryError, match=r"cycle in entity graph: a -> a \(child\)"):
        Registry("app", [entity("a", "a", ("a",))])


def test_an_item_asking_its_order_back_is_a_cycle_named_with_its_edges() -> None:
    with pytest.raises(RegistryError) as refused:
        Registry(
            "app",
            [
                entity("orders", children=("order_items",)),
                entity("order_items", "orders", asks=("orders",)),
            ],
        )
    assert str(refused.value) == (
        "cycle in entity graph: orders -> order_items (child) -> orders (asks); "
        "a chain of commands may not return to an entity it passed"
    )


def test_a_cycle_through_asks_alone_is_refused() -> None:
    with pytest.raises(RegistryError, match=r"a -> b \(asks\) -> c \(asks\) -> a \(asks\)"):
        Registry("app", [entity("a", asks=("b",)), entity("b", asks=("c",)), entity("c", asks=("a",))])


def test_asks_must_name_a_known_entity_that_is_not_already_a_child() -> None:
    with pytest.raises(RegistryError, match="orders asks unknown entity ghosts"):
        Registry("app", [entity("orders", asks=("ghosts",))])
    with pytest.raises(RegistryError, match="already its child"):
        Registry("app", [entity("a", children=("b",), asks=("b",)), entity("b", "a")])


def test_the_shop_graph_has_its_ask_edge() -> None:
    assert ("order_items", "products", "asks") in shop.registry().edges()


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


def test_actions_are_declared_once_with_a_model_input_and_never_as_a_built_in() -> None:
    things = Entity(name="things", fields=Fields)

    def create(row, given: Fields, meta):  # type: ignore[no-untyped-def]
        raise AssertionError

    def untyped(row, given, meta):  # type: ignore[no-untyped-def]
        raise AssertionError

    with pytest.raises(ValueError, match="cannot name an action"):
        things.action(create)
    with pytest.raises(ValueError, match="annotate 'given' with a pydantic model"):
        things.action(untyped)


def test_managed_fields_need_defaults() -> None:
    with pytest.raises(ValueError, match="managed field 'name' needs a default"):
        Entity(name="things", fields=Fields, managed=("name",))


def test_visibility_timeout_is_six_times_the_timeout() -> None:
    assert Scaling(timeout_seconds=40).visibility_timeout_seconds == 240
