"""What the operations page shows and changes, behind one interface.

Locally the dev stack's control endpoint answers (`local_operations`): its
own figures, and scaling applied to the running pollers and runtime pools at
once. Deployed, AWS does (`aws_operations`): CloudWatch's figures, SQS's
depths, and Lambda's `UpdateEventSourceMapping` and `PutFunctionConcurrency`
on the one function named. The page cannot tell the two apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol


class OperationsError(RuntimeError):
    """The figures or the change could not be had; the message says why."""


@dataclass(frozen=True)
class Scaling:
    """A worker's knobs: its event source's batch size and maximum concurrency, and the
    function's reserved concurrency (None: unreserved)."""

    batch_size: int
    maximum_concurrency: int
    reserved_concurrency: int | None = None


@dataclass(frozen=True)
class FunctionFigures:
    function: str
    entity: str | None  # None: the api or the console
    invocations: int | None = None
    errors: int | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    queue_depth: int | None = None
    in_flight: int | None = None
    oldest_age_seconds: float | None = None
    dlq_depth: int | None = None
    scaling: Scaling | None = None
    # Locally: the runtimes running and the most the pool may grow to.
    runtimes: int | None = None
    runtime_limit: int | None = None
    pollers: int | None = None  # locally: the event source's polling threads at work

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FunctionFigures:
        scaling = data.get("scaling")
        return cls(**{**data, "scaling": Scaling(**scaling) if scaling else None})


@dataclass(frozen=True)
class Figures:
    functions: list[FunctionFigures]
    source: str  # where they come from, said on the page
    window: str  # the period the counts cover


class Operations(Protocol):
    deployed: bool  # a change lasts until the next `cdk deploy` (see the page's note)

    def figures(self) -> Figures: ...

    def change_scaling(self, function: str, scaling: Scaling) -> Scaling:
        """Apply `scaling` to one worker function; what is in force afterwards."""
        ...


MAX_BATCH_SIZE = 10  # FIFO queues: ten messages a batch at most
MAX_CONCURRENCY = 1000  # the event source mapping's own upper bound


def check_scaling(scaling: Scaling) -> str | None:
    """The field a scaling change gets wrong, with why; None when AWS would take it."""
    if not 1 <= scaling.batch_size <= MAX_BATCH_SIZE:
        return f"batch_size: between 1 and {MAX_BATCH_SIZE} (FIFO queues)"
    if not 2 <= scaling.maximum_concurrency <= MAX_CONCURRENCY:
        return f"maximum_concurrency: between 2 and {MAX_CONCURRENCY} (as the event source mapping allows)"
    if scaling.reserved_concurrency is not None and scaling.reserved_concurrency < 0:
        return "reserved_concurrency: 0 or more, or empty for unreserved"
    return None
