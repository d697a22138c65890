"""The one place that spells resource names, so every part agrees on them."""

from __future__ import annotations

# CloudWatch namespace of every function's own metrics (EMF).
METRICS_NAMESPACE = "queuefirst"


def queue_name(app: str, entity: str) -> str:
    return f"{app}-{entity}"


def dead_letter_queue_name(app: str, entity: str) -> str:
    return f"{app}-{entity}-dlq"


def worker_function_name(app: str, entity: str) -> str:
    return f"{app}-{entity}-worker"


def api_function_name(app: str) -> str:
    return f"{app}-api"


def bake_target(entity: str) -> str:
    return f"worker-{entity}"
