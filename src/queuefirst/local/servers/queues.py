"""Creating each entity's FIFO queue and dead-letter queue from the registry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from queuefirst.model.limits import DLQ_RETENTION_SECONDS
from queuefirst.model.names import dead_letter_queue_name, queue_name
from queuefirst.model.registry import Registry

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class EntityQueues:
    entity: str
    url: str
    arn: str
    dlq_url: str
    dlq_arn: str


# As the infrastructure makes them: FIFO, deduplicated by the command id the
# sender gives, in high-throughput mode (per message group).
FIFO_ATTRIBUTES: dict[Any, str] = {
    "FifoQueue": "true",
    "ContentBasedDeduplication": "false",
    "DeduplicationScope": "messageGroup",
    "FifoThroughputLimit": "perMessageGroupId",
}


def ensure_queues(
    client: SQSClient, registry: Registry, *, visibility_timeout: int | None = None
) -> dict[str, EntityQueues]:
    """Create (or update) every queue with its redrive policy and visibility timeout.

    `visibility_timeout` overrides every entity's own (local use only).
    """
    made: dict[str, EntityQueues] = {}
    for entity in registry.values():
        dlq_url = client.create_queue(
            QueueName=dead_letter_queue_name(registry.app, entity.name),
            Attributes={**FIFO_ATTRIBUTES, "MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)},
        )["QueueUrl"]
        dlq_arn = _arn(client, dlq_url)
        attributes: dict[Any, str] = {
            "VisibilityTimeout": str(visibility_timeout or entity.scaling.visibility_timeout_seconds),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(entity.scaling.max_receive_count)}
            ),
        }
        name = queue_name(registry.app, entity.name)
        url = client.create_queue(QueueName=name, Attributes={**FIFO_ATTRIBUTES, **attributes})["QueueUrl"]
        client.set_queue_attributes(QueueUrl=url, Attributes=attributes)
        made[entity.name] = EntityQueues(entity.name, url, _arn(client, url), dlq_url, dlq_arn)
    return made


def _arn(client: SQSClient, url: str) -> str:
    return client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
