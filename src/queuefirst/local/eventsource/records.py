"""SQS events, as Lambda's event source mapping builds them from received messages.

The poller builds them, and so do the tests, so a worker sees locally exactly
the shape it sees on AWS. A conformance test holds them against AWS's
published sample events and Powertools' models.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from queuefirst.local.runtimes.specs import ACCOUNT


def queue_arn(queue_url: str, region: str) -> str:
    return f"arn:aws:sqs:{region}:{ACCOUNT}:{queue_url.rstrip('/').rsplit('/', 1)[-1]}"


# The system attributes AWS puts on an SQS event's records; FIFO queues add the last three.
_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "AWSTraceHeader",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
)


def sqs_event(messages: Iterable[Mapping[str, Any]], *, arn: str, region: str) -> dict[str, Any]:
    """Messages as `ReceiveMessage` returns them -> the event an SQS event source sends."""
    return {"Records": [_record(message, arn, region) for message in messages]}


def _record(message: Mapping[str, Any], arn: str, region: str) -> dict[str, Any]:
    attributes = {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": ACCOUNT}
    attributes |= {"ApproximateFirstReceiveTimestamp": "0"}
    attributes |= {
        k: str(v) for k, v in dict(message.get("Attributes", {})).items() if k in _RECORD_ATTRIBUTES
    }
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """As AWS writes it: the value's own key only, binary values base64 (as JSON carries them)."""
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = _b64(value["BinaryValue"])
    attribute["stringListValues"] = list(value.get("StringListValues", []))
    attribute["binaryListValues"] = [_b64(v) for v in value.get("BinaryListValues", [])]
    attribute["dataType"] = value.get("DataType", "String")
    return attribute


def _b64(value: bytes | str) -> str:
    return base64.b64encode(value).decode() if isinstance(value, bytes) else value
