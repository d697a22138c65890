"""shop: the example application (customers, products, orders, order items).

Its entities are the modules in `shop.entities`, its migrations the revisions
in `shop/migrations/versions`; `queuefirst` finds all of it through this
descriptor (named in pyproject.toml's [tool.queuefirst]).
"""

from queuefirst import Application

application = Application(name="shop", package=__name__)
