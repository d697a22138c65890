"""shop: the example application (customers, products, orders, order items).

Its entities are the modules in `shop.entities`, its migrations the revisions
in `shop/migrations/versions`; `queuefirst` finds all of it through this
descriptor (named in pyproject.toml's [tool.queuefirst]).
"""

from queuefirst import Application

# Revision 0002 re-founded the store (it drops 0001's tables, which nothing had been
# deployed on): the expand/contract check starts after it.
application = Application(name="shop", package=__name__, schema_baseline="0002")
