"""The shop's own tests; its e2e tests share the kit's `queuefirst dev` fixtures."""

from tests.e2e.conftest import shop_stack

__all__ = ["shop_stack"]
