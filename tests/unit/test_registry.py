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


def test_actions_are_declared_once_and_never_as_a_built_in() -> None:
    things = Entity(name="things", fields=Fields)
    with pytest.raises(ValueError, match="cannot be declared"):
        things.action("create")
    with pytest.raises(ValueError, match="cannot be declared"):
        things.action("withdraw")
    things.action("poke")
    with pytest.raises(ValueError, match="declared twice"):
        things.action("poke")


def test_fields_set_by_actions_need_defaults() -> None:
    with pytest.raises(ValueError, match="field 'name' set by actions needs a default"):
        Entity(name="things", fields=Fields, set_by_actions=("name",))


def test_a_rule_binds_to_its_declaration_by_name_and_takes_its_shape() -> None:
    things = Entity(name="things", fields=Fields)
    things.action("poke")

    def pook(row, given):  # type: ignore[no-untyped-def]
        raise AssertionError

    with pytest.raises(ValueError, match=r"the rule 'pook' answers no declaration \(declared: poke\)"):
        things.rule(pook)

    def poke(row):  # type: ignore[no-untyped-def]
        raise AssertionError

    with pytest.raises(ValueError, match=r"things.poke must take \(row, given\[, meta\]\)"):
        things.rule(poke)
    assert things.missing_rules() == ["poke"]


def test_a_declaration_asks_only_what_its_entity_sends_to() -> None:
    with pytest.raises(ValueError, match=r"things.poke asks strangers: declare it in children or asks"):
        Entity(name="things", fields=Fields).action("poke", asks=("strangers.x",))


# -- answers: up only along the edges they answer, never down again ------------------------


class Quantity(BaseModel):
    quantity: int = 1


def asker_and_asked(
    *, handler_asks: tuple[str, ...] = (), answers: tuple[str, ...] = ("done",)
) -> list[Entity]:
    """a asks b.go; b.go answers `answers`; a handles `done`."""
    a = entity("a", asks=("b",))
    b = entity("b")
    a.action("start", asks=("b.go",))
    b.action("go", answers=answers)
    a.answer("done", Quantity, asks=handler_asks, summary="b went")
    return [a, b]


def test_an_ask_and_its_answer_form_an_answer_edge() -> None:
    registry = Registry("app", asker_and_asked())
    assert registry.answer_edges() == [("b", "a", "answers")]
    assert registry.sends_to("b") == ["a"] and registry.senders("a") == ["b"]


def test_an_answer_handler_that_asks_down_is_refused_naming_the_path() -> None:
    with pytest.raises(RegistryError) as refused:
        Registry("app", asker_and_asked(handler_asks=("b.go",)))
    assert str(refused.value) == (
        "loop through an answer: a.start -> b.go -> a.done (answer) -> b.go: a handler reached by an "
        "answer may change its row and answer further up, never ask down"
    )


def test_an_answer_nobody_asked_for_is_refused() -> None:
    with pytest.raises(RegistryError, match=r"a.answer\('done'\) answers nothing a asks"):
        Registry("app", asker_and_asked(answers=()))


def test_an_answer_the_asker_cannot_handle_is_refused_naming_the_edge() -> None:
    with pytest.raises(RegistryError) as refused:
        Registry("app", asker_and_asked(answers=("done", "refused")))
    assert str(refused.value).startswith(
        "a asks b.go, which may answer 'refused' (a -> b.go -> a.refused): declare a.answer('refused', ...)"
    )


def test_answers_sent_on_up_from_a_chain_below_need_a_handler_above() -> None:
    """w asks a.relay; a.relay asks b.go, whose answer a.done passes on up as `relayed`."""
    w, a, b = entity("w", asks=("a",)), entity("a", asks=("b",)), entity("b")
    w.action("begin", asks=("a.relay",))
    a.action("relay", asks=("b.go",))
    b.action("go", answers=("done",))
    a.answer("done", Quantity, answers=("relayed",))
    with pytest.raises(RegistryError, match=r"w asks a.relay, which may answer 'relayed'"):
        Registry("app", [w, a, b])
    w.answer("relayed", Quantity)
    assert Registry("app", [w, a, b]).answer_edges() == [("a", "w", "answers"), ("b", "a", "answers")]


def test_a_cycle_through_answers_is_refused() -> None:
    """a's handler of b's answer asks b again: the chain would go down, up, down... forever."""
    with pytest.raises(
        RegistryError, match=r"loop through an answer: a.start -> b.go -> a.done \(answer\) -> b.go"
    ):
        Registry("app", asker_and_asked(handler_asks=("b.go",)))


def test_a_held_ask_names_an_action_that_can_be_undone() -> None:
    a, b = entity("a", asks=("b",)), entity("b")
    a.action("take", asks=("b.reserve",), holds=("b.reserve",))
    b.action("reserve")
    with pytest.raises(RegistryError, match=r"a.take holds b.reserve, which cannot be given back"):
        Registry("app", [a, b])


def test_the_shop_declares_its_answers_and_admissions() -> None:
    registry = shop.registry()
    assert registry.answer_edges() == [
        ("order_items", "orders", "answers"),
        ("products", "order_items", "answers"),
    ]
    assert set(registry["orders"].admissions) == {"order_items"}
    assert registry["orders"].admissions["order_items"].ops == ("create", "delete")
    assert set(registry["customers"].admissions) == {"orders"}


def test_visibility_timeout_is_six_times_the_timeout() -> None:
    assert Scaling(timeout_seconds=40).visibility_timeout_seconds == 240
