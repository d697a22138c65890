"""Order items' rules: reserve, take the product's answer, tell the order, give back or keep."""

from queuefirst import Decision, Refusal, Row, accept, reject

from . import OrderItemFields, Reserved, order_items


@order_items.rule
def on_create(item: Row[OrderItemFields]) -> Decision:
    fields = item.fields
    return accept().ask(
        "products", "reserve", fields.product_id, quantity=fields.quantity, currency=fields.currency
    )


@order_items.rule
def reserved(item: Row[OrderItemFields], given: Reserved) -> Decision:
    if item.fields.status != "pending":
        return accept()  # released meanwhile: its withdrawal gives the stock back
    amount = given.unit_price_minor * item.fields.quantity
    return accept(status="reserved", unit_price_minor=given.unit_price_minor, currency=given.currency).answer(
        "item_reserved", amount_minor=amount
    )


@order_items.rule
def refused(item: Row[OrderItemFields], given: Refusal) -> Decision:
    if item.fields.status != "pending":
        return accept()
    return accept(status="refused", refusal_reason=given.reason).answer("item_refused")


@order_items.rule
def release(item: Row[OrderItemFields], given: object) -> Decision:
    if item.fields.status not in ("pending", "reserved"):
        return reject(f"the item holds no stock; it is {item.fields.status}")
    return accept(status="released").withdraw("products", "reserve")


@order_items.rule
def ship(item: Row[OrderItemFields], given: object) -> Decision:
    if item.fields.status != "reserved":
        return reject(f"only a reserved item ships; this one is {item.fields.status}")
    return accept(status="shipped").settle("products", "reserve")


@order_items.rule
def on_delete(item: Row[OrderItemFields]) -> Decision:
    fields = item.fields
    if fields.status == "reserved":
        amount = (fields.unit_price_minor or 0) * fields.quantity
        return (
            accept().withdraw("products", "reserve").answer("item_removed", amount_minor=amount, counted=True)
        )
    if fields.status == "pending":
        return accept().withdraw("products", "reserve").answer("item_removed", amount_minor=0, counted=False)
    return accept()
