"""Lambda event shapes, as AWS builds them: SQS batches and HTTP API (2.0) requests.

The local stack's pollers and gateway use these, and so do the tests, so a
handler sees locally exactly the shape it sees on AWS.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

ACCOUNT = "000000000000"


def queue_arn(queue_url: str, region: str) -> str:
    return f"arn:aws:sqs:{region}:{ACCOUNT}:{queue_url.rstrip('/').rsplit('/', 1)[-1]}"


# The system attributes AWS puts on an SQS event's records; FIFO queues add the last three.
_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
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
    return {
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


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """As AWS writes it: the value's own key only (binary values base64, as JSON carries them)."""
    attribute: dict[str, Any] = {"stringListValues": [], "binaryListValues": []}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        binary = value["BinaryValue"]
        attribute["binaryValue"] = base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary
    attribute["dataType"] = value.get("DataType", "String")
    return attribute


def http_event(
    method: str,
    raw_path: str,
    *,
    query: str = "",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    request_id: str = "local",
    source_ip: str = "127.0.0.1",
    time_epoch_ms: int = 0,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event for the `$default` route."""
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    cookies = [c.strip() for c in lowered.pop("cookie", "").split(";") if c.strip()]
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    text_body: str | None = None
    is_base64 = False
    if body:
        content_type = lowered.get("content-type", "")
        textual = content_type.startswith(("application/json", "text/")) or not content_type
        try:
            text_body = body.decode() if textual else None
        except UnicodeDecodeError:
            text_body = None
        if text_body is None:
            text_body, is_base64 = base64.b64encode(body).decode(), True
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": lowered.get("host", "localhost"),
            "domainPrefix": "local",
            "http": {
                "method": method.upper(),
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "",
            "timeEpoch": time_epoch_ms,
        },
        "isBase64Encoded": is_base64,
    }
    if cookies:
        event["cookies"] = cookies
    if params:
        event["queryStringParameters"] = params
    if text_body is not None:
        event["body"] = text_body
    return event
