"""The operations page's figures and scaling, deployed: CloudWatch, SQS and Lambda.

Figures: Lambda's own metrics per function (invocations, errors, p50/p99
duration) and SQS's age of the oldest message, from CloudWatch over the last
15 minutes; queue depths and in-flight counts straight from SQS, as they
stand. Scaling: the worker's event source mapping (`UpdateEventSourceMapping`:
batch size, maximum concurrency) and its reserved concurrency
(`PutFunctionConcurrency`, `DeleteFunctionConcurrency`), for that function
alone; a later `cdk deploy` of its stack sets them back to what the entity
module declares. Tested against moto's server (tests/infra/test_admin_aws.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from queuefirst.admin.operations import Figures, FunctionFigures, OperationsError, Scaling
from queuefirst.model.names import (
    LIVE_ALIAS,
    admin_function_name,
    api_function_name,
    dead_letter_queue_name,
    queue_name,
    worker_function_name,
)
from queuefirst.model.registry import Registry

WINDOW = timedelta(minutes=15)
# (label, namespace, metric, statistic) per function; the dimension is added per query.
_LAMBDA = (
    ("invocations", "Invocations", "Sum"),
    ("errors", "Errors", "Sum"),
    ("p50_ms", "Duration", "p50"),
    ("p99_ms", "Duration", "p99"),
)

ClientFactory = Callable[[str], Any]


def boto3_clients(region: str, sqs_endpoint_url: str | None = None) -> ClientFactory:
    def make(service: str) -> Any:
        import boto3

        endpoint = sqs_endpoint_url if service == "sqs" else None
        return boto3.client(service, region_name=region, endpoint_url=endpoint)  # type: ignore[call-overload]

    return make


class AwsOperations:
    deployed = True

    def __init__(self, registry: Registry, clients: ClientFactory, now: Callable[[], datetime] | None = None):
        self.registry = registry
        self._factory = clients
        self._clients: dict[str, Any] = {}
        self._now = now or (lambda: datetime.now(UTC))
        self._urls: dict[str, str] = {}

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._factory(service)
        return self._clients[service]

    # -- figures ------------------------------------------------------------------------

    def figures(self) -> Figures:
        app = self.registry.app
        functions: list[tuple[str, str | None]] = [
            (api_function_name(app), None),
            (admin_function_name(app), None),
        ]
        functions += [(worker_function_name(app, e), e) for e in self.registry]
        metrics = self._metrics(functions)
        out = []
        for function, entity in functions:
            values = metrics.get(function, {})
            figures: dict[str, Any] = {
                "invocations": _int(values.get("invocations")),
                "errors": _int(values.get("errors")),
                "p50_ms": values.get("p50_ms"),
                "p99_ms": values.get("p99_ms"),
            }
            if entity is not None:
                depth, in_flight = self._depth(queue_name(app, entity))
                dlq_depth, _ = self._depth(dead_letter_queue_name(app, entity))
                figures |= {
                    "queue_depth": depth,
                    "in_flight": in_flight,
                    "dlq_depth": dlq_depth,
                    "oldest_age_seconds": values.get("oldest_age_seconds"),
                    "scaling": self.scaling_of(function),
                }
            out.append(FunctionFigures(function=function, entity=entity, **figures))
        return Figures(out, source="CloudWatch, SQS and Lambda", window="the last 15 minutes")

    def _metrics(self, functions: list[tuple[str, str | None]]) -> dict[str, dict[str, float]]:
        queries: list[dict[str, Any]] = []
        labels: dict[str, tuple[str, str]] = {}
        for index, (function, entity) in enumerate(functions):
            for label, metric, stat in _LAMBDA:
                dimension = {"Name": "FunctionName", "Value": function}
                queries.append(_query(f"f{index}_{label}", "AWS/Lambda", metric, dimension, stat))
                labels[f"f{index}_{label}"] = (function, label)
            if entity is not None:
                dimension = {"Name": "QueueName", "Value": queue_name(self.registry.app, entity)}
                metric = "ApproximateAgeOfOldestMessage"
                queries.append(_query(f"f{index}_age", "AWS/SQS", metric, dimension, "Maximum"))
                labels[f"f{index}_age"] = (function, "oldest_age_seconds")
        # The window ends at the next whole minute, so the latest datapoints fall inside it.
        end = self._now().replace(second=0, microsecond=0) + timedelta(minutes=1)
        results: dict[str, dict[str, float]] = {}
        # Percentiles apart: where they cannot be had, the counts still show.
        counts = [q for q in queries if not q["MetricStat"]["Stat"].startswith("p")]
        percentiles = [q for q in queries if q["MetricStat"]["Stat"].startswith("p")]
        self._fetch(counts, labels, end, results, required=True)
        self._fetch(percentiles, labels, end, results, required=False)
        return results

    def _fetch(
        self,
        queries: list[dict[str, Any]],
        labels: dict[str, tuple[str, str]],
        end: datetime,
        results: dict[str, dict[str, float]],
        *,
        required: bool,
    ) -> None:
        try:
            for start in range(0, len(queries), 500):  # GetMetricData takes 500 queries a call
                pages = (
                    self._client("cloudwatch")
                    .get_paginator("get_metric_data")
                    .paginate(
                        MetricDataQueries=queries[start : start + 500], StartTime=end - WINDOW, EndTime=end
                    )
                )
                for page in pages:
                    for result in page["MetricDataResults"]:
                        if result["Values"]:
                            function, label = labels[result["Id"]]
                            results.setdefault(function, {})[label] = float(result["Values"][0])
        except Exception as error:  # shown on the page, never a 500
            if required:
                raise OperationsError(f"CloudWatch: {type(error).__name__}: {error}") from error

    def _depth(self, name: str) -> tuple[int | None, int | None]:
        sqs = self._client("sqs")
        try:
            if name not in self._urls:
                self._urls[name] = sqs.get_queue_url(QueueName=name)["QueueUrl"]
            attributes = sqs.get_queue_attributes(
                QueueUrl=self._urls[name],
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        except Exception:
            return None, None
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )

    # -- scaling ------------------------------------------------------------------------

    def _mapping(self, function: str) -> dict[str, Any]:
        lambda_ = self._client("lambda")
        # The event source invokes the `live` alias (infra/queuefirst_infra/entity_stack.py).
        for name in (f"{function}:{LIVE_ALIAS}", function):
            mappings = lambda_.list_event_source_mappings(FunctionName=name).get("EventSourceMappings", [])
            if mappings:
                mapping: dict[str, Any] = mappings[0]
                return mapping
        raise OperationsError(f"{function} has no event source mapping")

    def scaling_of(self, function: str) -> Scaling | None:
        try:
            mapping = self._mapping(function)
            reserved = self._client("lambda").get_function_concurrency(FunctionName=function)
        except Exception:
            return None
        return Scaling(
            batch_size=int(mapping.get("BatchSize", 10)),
            maximum_concurrency=int((mapping.get("ScalingConfig") or {}).get("MaximumConcurrency") or 0),
            reserved_concurrency=reserved.get("ReservedConcurrentExecutions"),
        )

    def change_scaling(self, function: str, scaling: Scaling) -> Scaling:
        workers = {worker_function_name(self.registry.app, e) for e in self.registry}
        if function not in workers:
            raise OperationsError(f"{function} is not a worker of {self.registry.app}")
        lambda_ = self._client("lambda")
        try:
            mapping = self._mapping(function)
            lambda_.update_event_source_mapping(
                UUID=mapping["UUID"],
                BatchSize=scaling.batch_size,
                ScalingConfig={"MaximumConcurrency": scaling.maximum_concurrency},
            )
            if scaling.reserved_concurrency is None:
                lambda_.delete_function_concurrency(FunctionName=function)
            else:
                lambda_.put_function_concurrency(
                    FunctionName=function, ReservedConcurrentExecutions=scaling.reserved_concurrency
                )
        except OperationsError:
            raise
        except Exception as error:
            raise OperationsError(f"Lambda refused: {type(error).__name__}: {error}") from error
        return self.scaling_of(function) or scaling


def _query(
    query_id: str, namespace: str, metric: str, dimension: dict[str, str], stat: str
) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": [dimension]},
            "Period": int(WINDOW.total_seconds()),
            "Stat": stat,
        },
        "ReturnData": True,
    }


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)
