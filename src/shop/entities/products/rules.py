"""Products' rules: stock in, stock out, stock back."""

from queuefirst import Decision, Row, accept

from . import ProductFields, Quantity, Reservation, products


@products.rule
def restock(product: Row[ProductFields], given: Quantity) -> Decision:
    return accept(stock=product.fields.stock + given.quantity)


@products.rule
def reserve(product: Row[ProductFields], given: Reservation) -> Decision:
    # Its declaration already refused a product not for sale, in another currency or short of stock.
    fields = product.fields
    return accept(stock=fields.stock - given.quantity).answer(
        "reserved", unit_price_minor=fields.price_minor, currency=fields.currency
    )


@products.rule
def release(product: Row[ProductFields], given: Quantity) -> Decision:
    return accept(stock=product.fields.stock + given.quantity)
