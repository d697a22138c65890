"""Judging a canary by its own version's figures, read from CloudWatch.

During a canary the `live` alias runs two versions. Lambda publishes each
alias invocation's `Invocations` and `Errors` with the version that ran it
(`ExecutedVersion`), and the functions count their own failures per version
too (`CommandsFailed` of a worker's records, `ServerErrors` of the api's
responses, dimensioned by `version`, see `queuefirst.runtime.telemetry`).
So the old version's errors never roll a healthy canary back, and an
unused canary is never promoted:

- any error or failure of the new version rolls back at once;
- promotion needs at least `min_invocations` of the new version, and the
  canary period over; then a *settle* period (CloudWatch's metric delay: a
  minute or more for Lambda's, more for figures from logs) passes with the
  canary still clean before the new version takes all traffic;
- a canary short of invocations when `max_wait` runs out is rolled back,
  with a plain "not enough traffic" verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from queuefirst.model.names import METRICS_NAMESPACE

PERIOD_SECONDS = 60
# The functions' own failure counts per version (workers, api).
FAILURE_METRICS = ("CommandsFailed", "ServerErrors")

PROMOTE = "promote"
ROLL_BACK = "roll back"
NOT_ENOUGH_TRAFFIC = "not enough traffic"
WAIT = "wait"


class MetricsApi(Protocol):
    def get_metric_data(self, **kwargs: Any) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class VersionFigures:
    invocations: int
    errors: int  # Lambda's: the invocation failed
    failures: int  # the function's own: records reported failed, 5xx answers

    @property
    def bad(self) -> int:
        return self.errors + self.failures


def _query(query_id: str, namespace: str, name: str, dimensions: Mapping[str, str]) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            },
            "Period": PERIOD_SECONDS,
            "Stat": "Sum",
        },
        "ReturnData": True,
    }


def read_figures(
    cloudwatch: MetricsApi, *, function: str, alias: str, version: str, start: datetime, end: datetime
) -> VersionFigures:
    """The new version's figures from `start` (the canary's start) to `end`."""
    lambda_dims = {"FunctionName": function, "Resource": f"{function}:{alias}", "ExecutedVersion": version}
    own_dims = {"service": function, "function": function, "version": version}
    queries = [
        _query("invocations", "AWS/Lambda", "Invocations", lambda_dims),
        _query("errors", "AWS/Lambda", "Errors", lambda_dims),
    ]
    queries += [
        _query(f"failures{i}", METRICS_NAMESPACE, name, own_dims) for i, name in enumerate(FAILURE_METRICS)
    ]
    # Whole periods around the window: a datapoint is stamped with its period's start.
    window_start = start.replace(second=0, microsecond=0) - timedelta(seconds=PERIOD_SECONDS)
    window_end = end + timedelta(seconds=PERIOD_SECONDS)
    sums: dict[str, float] = {}
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": window_start,
            "EndTime": window_end,
        }
        if token:
            kwargs["NextToken"] = token
        page = cloudwatch.get_metric_data(**kwargs)
        for result in page.get("MetricDataResults", []):
            key = "failures" if str(result["Id"]).startswith("failures") else str(result["Id"])
            sums[key] = sums.get(key, 0.0) + sum(float(v) for v in result.get("Values", []))
        token = page.get("NextToken")
        if not token:
            break
    return VersionFigures(
        invocations=round(sums.get("invocations", 0.0)),
        errors=round(sums.get("errors", 0.0)),
        failures=round(sums.get("failures", 0.0)),
    )


@dataclass
class CanaryJudge:
    """Turns the new version's figures, poll after poll, into a verdict."""

    canary_seconds: float
    min_invocations: int
    settle_seconds: float
    max_wait_seconds: float
    clean_since: float | None = None  # when the canary first had enough invocations, clean

    def verdict(self, figures: VersionFigures, elapsed: float) -> str:
        if figures.bad:
            return ROLL_BACK
        if figures.invocations >= self.min_invocations and elapsed >= self.canary_seconds:
            if self.clean_since is None:
                self.clean_since = elapsed
            if elapsed - self.clean_since >= self.settle_seconds:
                return PROMOTE
            return WAIT
        if elapsed >= self.max_wait_seconds:
            return NOT_ENOUGH_TRAFFIC
        return WAIT
