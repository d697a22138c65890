"""Structured logs and CloudWatch metrics (EMF) for one function.

Telemetry reads the clock (latency, message age); nothing it computes ever
feeds a write, which keeps the workers deterministic.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from queuefirst.model.names import METRICS_NAMESPACE

NAMESPACE = METRICS_NAMESPACE


def make_logger(service: str) -> Logger:
    return Logger(service=service, use_rfc3339=True)


def make_metrics(service: str, function: str) -> Metrics:
    metrics = Metrics(namespace=NAMESPACE, service=service)
    metrics.set_default_dimensions(function=function)
    return metrics


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
