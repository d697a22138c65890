"""The operations page's deployed backend against moto's server standing in for AWS:
figures from CloudWatch and SQS, scaling through Lambda's own APIs, for one worker alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from queuefirst.admin.aws_operations import AwsOperations
from queuefirst.admin.operations import OperationsError, Scaling
from queuefirst.local import ensure_queues
from queuefirst.model.names import dead_letter_queue_name, worker_function_name
from queuefirst.model.registry import Registry
from tests.infra.moto_aws import REGION, Aws


@pytest.fixture
def deployed(moto_endpoint: str, registry: Registry) -> tuple[AwsOperations, Aws, Any]:
    aws = Aws(moto_endpoint)
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto_endpoint)
    queues = ensure_queues(sqs, registry)
    existing = {f["FunctionName"] for f in aws.lambda_.list_functions()["Functions"]}
    for entity in registry:
        name = worker_function_name(registry.app, entity)
        if name not in existing:
            aws.function(name)
        if not aws.lambda_.list_event_source_mappings(FunctionName=f"{name}:live")["EventSourceMappings"]:
            aws.lambda_.create_event_source_mapping(
                EventSourceArn=queues[entity].arn,
                FunctionName=f"{name}:live",
                BatchSize=registry[entity].scaling.batch_size,
                ScalingConfig={"MaximumConcurrency": registry[entity].scaling.maximum_concurrency},
            )
    clients = {
        "sqs": sqs,
        "lambda": aws.lambda_,
        "cloudwatch": aws.cloudwatch,
    }
    return AwsOperations(registry, clients.__getitem__), aws, sqs


def test_figures_come_from_cloudwatch_sqs_and_the_event_source(deployed: Any, registry: Registry) -> None:
    operations, aws, sqs = deployed
    orders = worker_function_name("shop", "orders")
    for name, value in (("Invocations", 12.0), ("Errors", 2.0)):
        aws.cloudwatch.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": "FunctionName", "Value": orders}],
                    "Value": value,
                    "Timestamp": datetime.now(UTC),
                    "Unit": "Count",
                }
            ],
        )
    url = sqs.get_queue_url(QueueName=dead_letter_queue_name("shop", "orders"))["QueueUrl"]
    before = int(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
    )
    sqs.send_message(
        QueueUrl=url, MessageBody="{}", MessageGroupId="g", MessageDeduplicationId="admin-test-1"
    )
    figures = {f.function: f for f in operations.figures().functions}
    assert set(figures) == {"shop-api", "shop-admin", *(worker_function_name("shop", e) for e in registry)}
    seen = figures[orders]
    assert seen.invocations is not None and seen.invocations >= 12
    assert seen.errors is not None and seen.errors >= 2
    # moto's server cannot compute percentiles (AWS can): they show as unknown, the rest stays.
    assert seen.p50_ms is None
    # moto's event source takes what reaches the queue at once; its dead-letter queue keeps it.
    assert seen.dlq_depth == before + 1 and seen.queue_depth is not None and seen.in_flight is not None
    assert seen.scaling is not None and seen.scaling.batch_size == registry["orders"].scaling.batch_size
    assert figures["shop-api"].scaling is None  # the api has no event source


def test_scaling_changes_one_workers_event_source_and_reserved_concurrency(deployed: Any) -> None:
    operations, aws, _ = deployed
    orders, customers = worker_function_name("shop", "orders"), worker_function_name("shop", "customers")
    untouched = aws.lambda_.list_event_source_mappings(FunctionName=f"{customers}:live")[
        "EventSourceMappings"
    ][0]
    applied = operations.change_scaling(
        orders, Scaling(batch_size=5, maximum_concurrency=7, reserved_concurrency=3)
    )
    (mapping,) = aws.lambda_.list_event_source_mappings(FunctionName=f"{orders}:live")["EventSourceMappings"]
    assert mapping["BatchSize"] == 5
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 7}
    assert aws.lambda_.get_function_concurrency(FunctionName=orders)["ReservedConcurrentExecutions"] == 3
    assert applied == Scaling(5, 7, 3)
    assert operations.change_scaling(orders, Scaling(10, 4, None)).reserved_concurrency is None
    assert "ReservedConcurrentExecutions" not in aws.lambda_.get_function_concurrency(FunctionName=orders)
    after = aws.lambda_.list_event_source_mappings(FunctionName=f"{customers}:live")["EventSourceMappings"][0]
    assert after["BatchSize"] == untouched["BatchSize"]  # another worker's knobs stay as they were
    with pytest.raises(OperationsError, match="not a worker"):
        operations.change_scaling("shop-api", Scaling(10, 4, None))
