"""shop: the example application (customers, products, orders, order items)."""

APP = "shop"
