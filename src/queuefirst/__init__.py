"""queuefirst: queue-first serverless back ends on AWS.

Every business write goes through its entity's SQS queue to one worker
function per entity; the api function only validates, reads and enqueues.

What an application imports is listed in `__all__`; everything else is the
kit's own. Names load on first use, so importing `queuefirst` costs nothing
a function's cold start does not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from queuefirst.model.access import OWNED_BY_SELF, OWNED_THROUGH_PARENT, Access
    from queuefirst.model.actions import (
        REFUSED,
        Admitted,
        Decision,
        Empty,
        Meta,
        Refusal,
        Row,
        accept,
        reject,
    )
    from queuefirst.model.application import Application
    from queuefirst.model.command import CREATE, DELETE
    from queuefirst.model.declarations import Audience, Reference
    from queuefirst.model.entity import Entity, Scaling
    from queuefirst.model.preconditions import AtLeast, Only, Same

__all__ = [
    "CREATE",
    "DELETE",
    "OWNED_BY_SELF",
    "OWNED_THROUGH_PARENT",
    "REFUSED",
    "Access",
    "Admitted",
    "Application",
    "AtLeast",
    "Audience",
    "Decision",
    "Empty",
    "Entity",
    "Meta",
    "Only",
    "Reference",
    "Refusal",
    "Row",
    "Same",
    "Scaling",
    "accept",
    "reject",
]

_HOMES = {
    "Access": "queuefirst.model.access",
    "OWNED_BY_SELF": "queuefirst.model.access",
    "OWNED_THROUGH_PARENT": "queuefirst.model.access",
    "Application": "queuefirst.model.application",
    "Entity": "queuefirst.model.entity",
    "Scaling": "queuefirst.model.entity",
    "REFUSED": "queuefirst.model.actions",
    "Admitted": "queuefirst.model.actions",
    "Refusal": "queuefirst.model.actions",
    "CREATE": "queuefirst.model.command",
    "DELETE": "queuefirst.model.command",
    "Audience": "queuefirst.model.declarations",
    "Reference": "queuefirst.model.declarations",
    "AtLeast": "queuefirst.model.preconditions",
    "Only": "queuefirst.model.preconditions",
    "Same": "queuefirst.model.preconditions",
    "Decision": "queuefirst.model.actions",
    "Empty": "queuefirst.model.actions",
    "Meta": "queuefirst.model.actions",
    "Row": "queuefirst.model.actions",
    "accept": "queuefirst.model.actions",
    "reject": "queuefirst.model.actions",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'queuefirst' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)
