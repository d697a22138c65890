"""Orders' rules: admit items, keep their count and total, pay, ship, cancel."""

from queuefirst import Admitted, Decision, Empty, Refusal, Row, accept

from . import Cancellation, ItemRemoved, ItemReserved, OrderFields, Payment, orders


@orders.rule
def admit_order_items(order: Row[OrderFields], write: Admitted) -> Decision:
    if write.op == "create":
        return accept(awaiting=order.fields.awaiting + 1).grant(currency=order.fields.currency)
    return accept()


@orders.rule
def item_reserved(order: Row[OrderFields], given: ItemReserved) -> Decision:
    fields = order.fields
    return accept(
        awaiting=fields.awaiting - 1,
        items=fields.items + 1,
        total_minor=fields.total_minor + given.amount_minor,
    )


@orders.rule
def item_refused(order: Row[OrderFields], given: Empty) -> Decision:
    return accept(awaiting=order.fields.awaiting - 1)


@orders.rule
def item_removed(order: Row[OrderFields], given: ItemRemoved) -> Decision:
    fields = order.fields
    if not given.counted:
        return accept(awaiting=fields.awaiting - 1)
    return accept(items=fields.items - 1, total_minor=fields.total_minor - given.amount_minor)


@orders.rule
def refused(order: Row[OrderFields], given: Refusal) -> Decision:
    # An admitted create its item refused (its id taken): it waits no more.
    return accept(awaiting=order.fields.awaiting - 1) if given.op == "create" else accept()


@orders.rule
def pay(order: Row[OrderFields], given: Payment) -> Decision:
    return accept(status="paid", payment_reference=given.reference)


@orders.rule
def ship(order: Row[OrderFields], given: Empty) -> Decision:
    return accept(status="shipped").ask_children("order_items", "ship", {"status": "reserved"})


@orders.rule
def cancel(order: Row[OrderFields], given: Cancellation) -> Decision:
    return accept(status="cancelled", cancel_reason=given.reason).ask_children("order_items", "release")
