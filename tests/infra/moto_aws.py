"""The AWS side of the rollout tests: moto's server mode standing in for Lambda and CloudWatch.

Functions are created, updated, published and aliased in moto. moto cannot
run an image function, so an invocation (the schema probe, the migrations
function) answers with the payload the test queued for it; CloudWatch's
metrics are the ones the test puts, with the dimensions Lambda and the
functions use, read back through GetMetricData as the canary reads them.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3

ACCOUNT = "123456789012"
REGION = "us-east-1"


def image(repository: str, digit: str) -> str:
    return f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{repository}@sha256:{digit * 64}"


def probe_answer(needs: str = "0002", database: str | None = "0002", ok: bool = True) -> dict[str, Any]:
    return {"schema": {"needs": needs, "database": database, "ok": ok, "version": "2"}}


class Aws:
    def __init__(self, endpoint: str) -> None:
        kwargs: dict[str, Any] = {"region_name": REGION, "endpoint_url": endpoint}
        self.endpoint = endpoint
        self.lambda_ = boto3.client("lambda", **kwargs)
        self.cloudwatch = boto3.client("cloudwatch", **kwargs)
        self.iam = boto3.client("iam", **kwargs)
        self.drain()

    def function(self, name: str | None = None) -> str:
        """A function at version 1 behind `live`."""
        name = name or f"shop-t{uuid.uuid4().hex[:8]}-worker"
        role = self.iam.create_role(
            RoleName=f"{name}-{uuid.uuid4().hex[:4]}",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        self.lambda_.create_function(
            FunctionName=name,
            Role=role,
            PackageType="Image",
            Code={"ImageUri": image(name, "1")},
            Publish=True,
        )
        self.lambda_.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
        return name

    def answers(self, *payloads: dict[str, Any]) -> None:
        """What the next invocations answer, in order."""
        body = {"results": [json.dumps(p) for p in payloads], "region": REGION}
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/static/lambda-simple/response",
            data=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).close()

    def drain(self) -> None:
        """Forget answers an earlier test queued and left unread (an unqueued invoke echoes)."""
        marker = {"drain": uuid.uuid4().hex}
        for _ in range(100):
            reply = self.lambda_.invoke(FunctionName="drain", Payload=json.dumps(marker).encode())
            if json.loads(reply["Payload"].read()) == marker:
                return
        raise AssertionError("moto keeps answering with queued payloads")

    def unread_answers(self) -> int:
        marker = {"count": uuid.uuid4().hex}
        count = 0
        while (
            json.loads(
                self.lambda_.invoke(FunctionName="drain", Payload=json.dumps(marker).encode())[
                    "Payload"
                ].read()
            )
            != marker
        ):
            count += 1
        return count

    def metric(self, function: str, name: str, version: str, value: float, *, own: bool = False) -> None:
        """A datapoint as Lambda (per ExecutedVersion) or the function itself (EMF) publishes it."""
        if own:
            namespace = "queuefirst"
            dims = {"service": function, "function": function, "version": version}
        else:
            namespace = "AWS/Lambda"
            dims = {"FunctionName": function, "Resource": f"{function}:live", "ExecutedVersion": version}
        self.cloudwatch.put_metric_data(
            Namespace=namespace,
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                    "Value": value,
                    "Timestamp": datetime.now(UTC),
                    "Unit": "Count",
                }
            ],
        )

    def alias(self, name: str) -> dict[str, Any]:
        alias: dict[str, Any] = self.lambda_.get_alias(FunctionName=name, Name="live")
        return alias

    def image_of(self, name: str, qualifier: str | None = None) -> str:
        kwargs = {"FunctionName": name} | ({"Qualifier": qualifier} if qualifier else {})
        return str(self.lambda_.get_function(**kwargs)["Code"]["ImageUri"])


def weights(alias: dict[str, Any]) -> dict[str, float]:
    return dict(alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}) or {})
