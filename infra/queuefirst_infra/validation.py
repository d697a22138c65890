"""Refuse, at synth, registry settings that AWS would refuse at deploy time (or worse, accept)."""

from __future__ import annotations

from queuefirst.model.entity import Entity
from queuefirst.model.limits import SQS_BATCH_LIMIT
from queuefirst.model.registry import Registry
from queuefirst_infra.errors import InfraConfigError

LAMBDA_MAX_TIMEOUT = 900
LAMBDA_MEMORY = (128, 10240)
MAX_CONCURRENCY = (2, 1000)
# AWS advises a maxReceiveCount of at least five for a Lambda event source, so a
# message is not dead-lettered while its function is merely throttled.
MAX_RECEIVE_COUNT = (5, 1000)
SQS_MAX_VISIBILITY = 43_200


def entity_problems(entity: Entity) -> list[str]:
    s = entity.scaling
    name = entity.name
    problems: list[str] = []
    if not 1 <= s.timeout_seconds <= LAMBDA_MAX_TIMEOUT:
        problems.append(
            f"{name}: scaling.timeout_seconds={s.timeout_seconds} is outside 1..{LAMBDA_MAX_TIMEOUT}"
        )
    if not LAMBDA_MEMORY[0] <= s.memory_mb <= LAMBDA_MEMORY[1]:
        problems.append(
            f"{name}: scaling.memory_mb={s.memory_mb} is outside {LAMBDA_MEMORY[0]}..{LAMBDA_MEMORY[1]}"
        )
    if not 1 <= s.batch_size <= SQS_BATCH_LIMIT:
        problems.append(
            f"{name}: scaling.batch_size={s.batch_size} is outside 1..{SQS_BATCH_LIMIT} "
            "(an event source takes at most ten messages from a FIFO queue)"
        )
    if not MAX_CONCURRENCY[0] <= s.maximum_concurrency <= MAX_CONCURRENCY[1]:
        problems.append(
            f"{name}: scaling.maximum_concurrency={s.maximum_concurrency} is outside "
            f"{MAX_CONCURRENCY[0]}..{MAX_CONCURRENCY[1]}"
        )
    if s.reserved_concurrency is not None and s.reserved_concurrency < s.maximum_concurrency:
        problems.append(
            f"{name}: scaling.reserved_concurrency={s.reserved_concurrency} is below "
            f"scaling.maximum_concurrency={s.maximum_concurrency}; the event source would be "
            "throttled"
        )
    if not MAX_RECEIVE_COUNT[0] <= s.max_receive_count <= MAX_RECEIVE_COUNT[1]:
        problems.append(
            f"{name}: scaling.max_receive_count={s.max_receive_count} is outside "
            f"{MAX_RECEIVE_COUNT[0]}..{MAX_RECEIVE_COUNT[1]}: AWS advises at least 5 for a Lambda "
            "event source, so that throttling alone does not dead-letter messages"
        )
    if s.visibility_timeout_seconds > SQS_MAX_VISIBILITY:
        problems.append(
            f"{name}: scaling.visibility_timeout_seconds={s.visibility_timeout_seconds} "
            f"exceeds {SQS_MAX_VISIBILITY}"
        )
    return problems


def validate_registry(registry: Registry) -> None:
    problems = [p for entity in registry.values() for p in entity_problems(entity)]
    if problems:
        raise InfraConfigError(
            "registry settings cannot be deployed:\n" + "\n".join(f"  - {p}" for p in problems)
        )
