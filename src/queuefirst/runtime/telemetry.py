"""Structured logs and CloudWatch metrics (EMF) for one function.

Telemetry reads the clock (latency, message age); nothing it computes ever
feeds a write, which keeps the workers deterministic.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from queuefirst.model.names import METRICS_NAMESPACE

NAMESPACE = METRICS_NAMESPACE
# The dimension that tells a function's versions apart (a canary judges its own).
VERSION_DIMENSION = "version"
H = TypeVar("H", bound=Callable[..., Any])


def make_logger(service: str) -> Logger:
    return Logger(service=service, use_rfc3339=True)


def make_metrics(service: str, function: str) -> Metrics:
    metrics = Metrics(namespace=NAMESPACE, service=service)
    metrics.set_default_dimensions(function=function)
    return metrics


def count_per_version(name: str, value: float, *, function: str, version: str) -> None:
    """One more EMF record of `name`, dimensioned by the running version as well.

    Powertools' Metrics publish one dimension set; the function-wide alarms read
    that one, so the per-version count is a record of its own.
    """
    dimensions = {"service": function, "function": function, VERSION_DIMENSION: version}
    with single_metric(
        name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE, default_dimensions=dimensions
    ):
        pass


def traced(handler: H, service: str, enabled: bool) -> H:
    """The handler under Powertools' Tracer (X-Ray), when tracing is on.

    Off (locally, unless QUEUEFIRST_TRACING is set) no Tracer is made at all:
    making one imports aws_xray_sdk and patches boto3 and the database driver,
    which a cold start should pay only where traces are read.
    """
    if not enabled:
        return handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer(service=service)
    return cast(H, tracer.capture_lambda_handler(handler))


@contextmanager
def timed(metrics: Metrics, name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        metrics.add_metric(
            name=name, unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1000
        )


def message_age_ms(sent_timestamp_ms: str | None) -> float | None:
    if not sent_timestamp_ms:
        return None
    return max(0.0, time.time() * 1000 - int(sent_timestamp_ms))
