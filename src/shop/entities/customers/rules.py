"""Customers' rules: suspension, and a suspension that survives re-creating the account."""

from queuefirst import Decision, Empty, Row, accept

from . import CustomerFields, Suspension, customers


@customers.rule
def on_create(customer: Row[CustomerFields]) -> Decision:
    previous = customer.previous
    if previous is not None and previous.status == "suspended":
        return accept(status="suspended", suspension_reason=previous.suspension_reason)
    return accept()


@customers.rule
def suspend(customer: Row[CustomerFields], given: Suspension) -> Decision:
    return accept(status="suspended", suspension_reason=given.reason).ask_children(
        "orders", "cancel", {"status": "pending"}, reason=f"customer suspended: {given.reason}"
    )


@customers.rule
def reinstate(customer: Row[CustomerFields], given: Empty) -> Decision:
    return accept(status="active", suspension_reason=None)
