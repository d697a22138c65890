"""One module per entity. A worker image carries only its own entity's module."""

NAMES = ("customers", "products", "orders", "order_items")
