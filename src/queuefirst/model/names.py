"""The one place that spells resource names, so every part agrees on them.

The runtime, the local stack, the operator's tools and the infrastructure
all name queues, functions, images, aliases and alarms through here.
"""

from __future__ import annotations

# CloudWatch namespace of every function's own metrics (EMF).
METRICS_NAMESPACE = "queuefirst"
# The alias every event source and the HTTP API invoke; rollouts move it.
LIVE_ALIAS = "live"


# Entity queues are FIFO (one lane per message group), and SQS requires FIFO
# queue names, dead-letter queues' too, to end in ".fifo".
FIFO_SUFFIX = ".fifo"


def queue_name(app: str, entity: str) -> str:
    return f"{app}-{entity}{FIFO_SUFFIX}"


def dead_letter_queue_name(app: str, entity: str) -> str:
    return f"{app}-{entity}-dlq{FIFO_SUFFIX}"


def worker_function_name(app: str, entity: str) -> str:
    return f"{app}-{entity}-worker"


def api_function_name(app: str) -> str:
    return f"{app}-api"


def admin_function_name(app: str) -> str:
    return f"{app}-admin"


def migrations_function_name(app: str) -> str:
    return f"{app}-migrations"


def bake_target(entity: str) -> str:
    """The bake target (and build group) of an entity's worker image."""
    return f"worker-{entity}"


def error_alarm_name(function: str) -> str:
    """The CloudWatch alarm on a function's errors and failed records, all versions together."""
    return f"{function}-errors"


def throttle_alarm_name(function: str) -> str:
    return f"{function}-throttles"


# Handlers of the kit's composition roots (the images' CMD says the same).
API_HANDLER = "queuefirst.functions.api.handler"
WORKER_HANDLER = "queuefirst.functions.worker.handler"
MIGRATIONS_HANDLER = "queuefirst.schema.function.handler"
ADMIN_HANDLER = "queuefirst.functions.admin.handler"
