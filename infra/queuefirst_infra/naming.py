"""Names of stacks, repositories, roles, alarms and database users.

Resource names shared with the runtime (queues, functions) come from
`queuefirst.model.names`; the ones only the infrastructure and the rollout tool
need are spelled here, once.
"""

from __future__ import annotations

from queuefirst.model import names
from queuefirst.model.names import (
    admin_function_name,
    error_alarm_name,
    migrations_function_name,
    throttle_alarm_name,
)

__all__ = [
    "admin_db_user",
    "admin_function_name",
    "admin_stack_name",
    "alarm_topic_name",
    "api_db_user",
    "entity_stack_name",
    "error_alarm_name",
    "migrations_function_name",
    "registry_stack_name",
    "repository_name",
    "shared_stack_name",
    "throttle_alarm_name",
    "worker_db_user",
]


def registry_stack_name(app: str) -> str:
    return f"{app}-registry"


def shared_stack_name(app: str) -> str:
    return f"{app}-shared"


def entity_stack_name(app: str, entity: str) -> str:
    """CloudFormation stack names allow no underscores: order_items -> order-items."""
    return f"{app}-{entity}".replace("_", "-")


def repository_name(app: str, function: str) -> str:
    """The ECR repository holding a function's image (migrations share the api's)."""
    if function == migrations_function_name(app):
        return names.api_function_name(app)
    return function


def alarm_topic_name(app: str) -> str:
    """The SNS topic every alarm of the application notifies."""
    return f"{app}-alarms"


def api_db_user(app: str) -> str:
    """Read-only database user of the api function."""
    return f"{app}_api"


def admin_db_user(app: str) -> str:
    """Read-only database user of the admin console (rows, command logs, failure reasons)."""
    return f"{app}_admin"


def admin_stack_name(app: str) -> str:
    return f"{app}-admin"


def worker_db_user(app: str, entity: str) -> str:
    """Database user of one entity's worker: writes its own table only."""
    return f"{app}_{entity}"
