"""Refuse, at synth, registry settings that AWS would refuse at deploy time (or worse, accept)."""

from __future__ import annotations

from queuefirst.model.entity import Entity
from queuefirst.model.registry import Registry
from queuefirst_infra.errors import InfraConfigError

LAMBDA_MAX_TIMEOUT = 900
LAMBDA_MEMORY = (128, 10240)
SQS_STANDARD_MAX_BATCH = 10_000
SQS_BATCH_WITHOUT_WINDOW = 10
MAX_BATCHING_WINDOW = 300
MAX_CONCURRENCY = (2, 1000)
MAX_RECEIVE_COUNT = (1, 1000)
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
    if s.batch_size < 1:
        problems.append(f"{name}: scaling.batch_size={s.batch_size} must be at least 1")
    if s.batch_size > SQS_STANDARD_MAX_BATCH:
        problems.append(
            f"{name}: scaling.batch_size={s.batch_size} exceeds {SQS_STANDARD_MAX_BATCH} (standard queue)"
        )
    if s.batch_size > SQS_BATCH_WITHOUT_WINDOW and s.batching_window_seconds < 1:
        problems.append(
            f"{name}: scaling.batch_size={s.batch_size} above {SQS_BATCH_WITHOUT_WINDOW} needs "
            f"scaling.batching_window_seconds >= 1 (is {s.batching_window_seconds})"
        )
    if not 0 <= s.batching_window_seconds <= MAX_BATCHING_WINDOW:
        problems.append(
            f"{name}: scaling.batching_window_seconds={s.batching_window_seconds} is outside "
            f"0..{MAX_BATCHING_WINDOW}"
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
            f"{MAX_RECEIVE_COUNT[0]}..{MAX_RECEIVE_COUNT[1]}"
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
