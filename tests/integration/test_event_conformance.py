"""The local stack's events against AWS's: Powertools' parser models, then field by field
against AWS's published sample events (tests/fixtures/aws_events, sources in its README).

HTTP events are captured as the api function receives them: real requests through
the gateway to a real runtime that echoes its event. SQS events are built from real
messages received from the SQS server the way the poller receives them.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model, SqsModel

from queuefirst.local import EntityQueues, GatewayServer, LocalIssuer, RouteTable, Routing, RuntimePool
from queuefirst.model.http_routes import DEFAULT_ROUTE, HttpRoute, RouteKind
from queuefirst.model.principal import USERS
from tests.helpers import receive_event, send_raw
from tests.http_client import RawClient
from tests.integration.conftest import pool_invoke, start_gateway

pytestmark = pytest.mark.integration

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "aws_events"
# Present on AWS only when the API configures them (mTLS, authorizers, route
# parameters, stage variables) or the request carries them (cookies, a query, a body).
HTTP_OPTIONAL = {
    "cookies",
    "queryStringParameters",
    "body",
    "pathParameters",
    "stageVariables",
    "requestContext.authentication",
    "requestContext.authorizer",
}
# Maps whose keys are the request's own (header names, parameter names, a token's claims):
# only value types compare.
FREE_MAPS = {
    "headers",
    "queryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext.authorizer.jwt.claims",
}
FORMATS = {
    "requestContext.time": r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000",
    "requestContext.timeEpoch": r"\d{13}",
    "md5OfBody": r"[0-9a-f]{32}",
    "eventSourceARN": r"arn:aws:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+",
    "attributes.SentTimestamp": r"\d{13}",
    "attributes.ApproximateFirstReceiveTimestamp": r"\d{13}",
    "attributes.ApproximateReceiveCount": r"[1-9]\d*",
    "attributes.SequenceNumber": r"\d+",
}


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return loaded


def conforms(ours: dict[str, Any], aws: dict[str, Any], optional: set[str], path: str = "") -> list[str]:
    """Every difference in keys, value types and formats between our event and AWS's sample."""
    problems = []
    for key in sorted(set(ours) | set(aws)):
        where = f"{path}{key}"
        if key not in ours:
            if where not in optional:
                problems.append(f"{where}: missing")
            continue
        if key not in aws:
            if where not in optional:
                problems.append(f"{where}: not in AWS's event")
            continue
        mine, theirs = ours[key], aws[key]
        if type(mine) is not type(theirs):
            problems.append(f"{where}: {type(mine).__name__}, AWS sends {type(theirs).__name__}")
        elif where in FREE_MAPS:
            problems += [f"{where}.{k}: not a string" for k, v in mine.items() if not isinstance(v, str)]
        elif isinstance(mine, dict):
            problems += conforms(mine, theirs, optional, f"{where}.")
        elif where in FORMATS:
            for value in (mine, theirs):
                if not re.fullmatch(FORMATS[where], str(value)):
                    problems.append(f"{where}: {value!r} is not in AWS's format")
    return problems


def test_the_samples_are_what_powertools_parses() -> None:
    APIGatewayProxyEventV2Model.model_validate(sample("http_api_v2.json"))
    SqsModel.model_validate(sample("sqs_standard.json"))
    SqsModel.model_validate(sample("sqs_fifo.json"))


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /boards HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /my/path?parameter1=value1&parameter1=value2&parameter2=value HTTP/1.1\r\nHost: x\r\n"
        b"Header2: value1\r\nHeader2: value2\r\nCookie: cookie1\r\nCookie: cookie2\r\nUser-Agent: agent\r\n"
        b"Content-Type: text/plain\r\nContent-Length: 17\r\n\r\nHello from Lambda",
    ],
    ids=["bare GET", "AWS's sample request"],
)
def test_http_events_conform_to_aws(gateway: GatewayServer, request_bytes: bytes) -> None:
    with RawClient("127.0.0.1", gateway.port) as client:
        event = json.loads(client.request(request_bytes).body)
    APIGatewayProxyEventV2Model.model_validate(event)
    assert conforms(event, sample("http_api_v2.json"), HTTP_OPTIONAL) == []


def test_the_sample_request_gives_the_samples_values(gateway: GatewayServer) -> None:
    request = (
        b"POST /my/path?parameter1=value1&parameter1=value2&parameter2=value HTTP/1.1\r\nHost: x\r\n"
        b"Header1: value1\r\nHeader2: value1\r\nHeader2: value2\r\nCookie: cookie1\r\nCookie: cookie2\r\n"
        b"Content-Type: text/plain\r\nContent-Length: 17\r\n\r\nHello from Lambda"
    )
    with RawClient("127.0.0.1", gateway.port) as client:
        event = json.loads(client.request(request).body)
    aws = sample("http_api_v2.json")
    for key in (
        "version",
        "routeKey",
        "rawPath",
        "rawQueryString",
        "cookies",
        "queryStringParameters",
        "body",
    ):
        assert event[key] == aws[key], key
    assert {k: event["headers"][k] for k in ("header1", "header2")} == aws["headers"]
    assert event["isBase64Encoded"] is False


def test_an_authorized_routes_event_conforms_to_aws_with_the_claims_where_aws_puts_them(
    echo_pool: RuntimePool, tmp_path: Path
) -> None:
    """The sample's route names scopes (its `scopes` is a list); a route naming none gets null."""
    issuer = LocalIssuer(tmp_path, "notes")
    routes = [
        HttpRoute(
            "GET", "/things/{key}", "echo", USERS, RouteKind.READ, scopes=("aws.cognito.signin.user.admin",)
        ),
        HttpRoute("ANY", DEFAULT_ROUTE, "echo", USERS, RouteKind.DEFAULT),
    ]
    routing = Routing(RouteTable(routes), {"echo": pool_invoke(echo_pool)}, issuer.authorizers())
    server = start_gateway(echo_pool, routing=routing)
    token = issuer.mint(USERS, "ann", overrides={"cognito:groups": ["a", "b"], "email_verified": True})
    try:
        with RawClient("127.0.0.1", server.port) as client:
            events = [
                json.loads(
                    client.request(
                        f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
                    ).body
                )
                for path in ("/things/t%3A1", "/other")
            ]
    finally:
        server.stop()
    scoped, default = events
    for event in events:
        APIGatewayProxyEventV2Model.model_validate(event)
    assert conforms(scoped, sample("http_api_v2.json"), HTTP_OPTIONAL - {"requestContext.authorizer"}) == []
    assert scoped["routeKey"] == scoped["requestContext"]["routeKey"] == "GET /things/{key}"
    assert scoped["pathParameters"] == {"key": "t:1"} and scoped["rawPath"] == "/things/t%3A1"
    assert scoped["requestContext"]["authorizer"]["jwt"]["scopes"] == ["aws.cognito.signin.user.admin"]
    claims = scoped["requestContext"]["authorizer"]["jwt"]["claims"]
    assert (
        claims["sub"] == "ann" and claims["cognito:groups"] == "[a b]" and claims["email_verified"] == "true"
    )
    assert default["routeKey"] == "$default" and "pathParameters" not in default
    assert default["requestContext"]["authorizer"]["jwt"] == {"claims": claims, "scopes": None}


def test_sqs_events_conform_to_aws(sqs_client: Any, notes_queues: dict[str, EntityQueues]) -> None:
    queue = notes_queues["boards"]
    sqs_client.send_message(
        QueueUrl=queue.url,
        MessageBody="Test message.",
        MessageGroupId="1",
        MessageDeduplicationId=str(uuid.uuid4()),
        MessageAttributes={
            "text": {"DataType": "String", "StringValue": "myValue"},
            "count": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
        },
    )
    # As the poller receives them (local/eventsource/poller.py).
    event = json.loads(json.dumps(receive_event(sqs_client, queue)))  # it serialises
    SqsModel.model_validate(event)
    (record,) = event["Records"]
    fifo = sample("sqs_fifo.json")["Records"][0]
    attributes = {f"messageAttributes.{name}" for name in record["messageAttributes"]}
    optional = {"md5OfMessageAttributes", "messageAttributes", *attributes}
    assert conforms(record, fifo, optional) == []
    standard = sample("sqs_standard.json")["Records"][0]["messageAttributes"]["myAttribute"]
    assert record["messageAttributes"]["text"] == standard
    assert record["messageAttributes"]["count"] == {**standard, "stringValue": "3", "dataType": "Number"}
    assert record["messageAttributes"]["blob"] == {
        "binaryValue": "AP8=",  # base64, as JSON carries bytes
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Binary",
    }
    assert "binaryValue" not in record["messageAttributes"]["text"]
    sqs_client.delete_message(QueueUrl=queue.url, ReceiptHandle=record["receiptHandle"])


def test_fifo_records_sequence_numbers_increase_within_their_message_group(
    sqs_client: Any, notes_queues: dict[str, EntityQueues]
) -> None:
    """SQS's SequenceNumber grows within a message group (moto draws it at random),
    with as many digits as AWS's sample; the poller passes it through."""
    queue = notes_queues["boards"]
    for n in range(5):
        for group in ("a", "b"):
            send_raw(sqs_client, queue, f"{group}{n}", group=group)
    event = receive_event(sqs_client, queue)
    by_group: dict[str, list[tuple[str, int]]] = {}
    for record in event["Records"]:
        attributes = record["attributes"]
        by_group.setdefault(attributes["MessageGroupId"], []).append(
            (record["body"], int(attributes["SequenceNumber"]))
        )
        assert len(attributes["SequenceNumber"]) == len(
            sample("sqs_fifo.json")["Records"][0]["attributes"]["SequenceNumber"]
        )
    for group, received in by_group.items():
        assert [body for body, _ in received] == [f"{group}{n}" for n in range(5)]
        numbers = [number for _, number in received]
        assert numbers == sorted(set(numbers)), f"group {group}: {numbers}"
    assert set(by_group) == {"a", "b"}
