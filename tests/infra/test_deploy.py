"""`queuefirst deploy` against moto's server mode.

AWS itself can't run here, so the Lambda and CloudWatch APIs are moto's
(a real HTTP server in a subprocess); functions are created, updated,
published and aliased there, never invoked. Time is injected: a canary of
ten minutes runs in no time, and the "sleep" is where the test flips the
alarm, as a failing new version would.
"""

from __future__ import annotations

import argparse
import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from queuefirst.ops import deploy
from queuefirst.ops.deploy import error_alarm_name

ACCOUNT = "123456789012"


def image(repository: str, digit: str) -> str:
    return f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/{repository}@sha256:{digit * 64}"


class Aws:
    def __init__(self, endpoint: str) -> None:
        kwargs: dict[str, Any] = {"region_name": "us-east-1", "endpoint_url": endpoint}
        self.endpoint = endpoint
        self.lambda_ = boto3.client("lambda", **kwargs)
        self.cloudwatch = boto3.client("cloudwatch", **kwargs)
        self.iam = boto3.client("iam", **kwargs)

    def function(self, *, alarm: bool = True) -> str:
        """A worker-like function at version 1 behind `live`, and its error alarm."""
        name = f"shop-t{uuid.uuid4().hex[:8]}-worker"
        role = self.iam.create_role(
            RoleName=name,
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
        if alarm:
            self.cloudwatch.put_metric_alarm(
                AlarmName=error_alarm_name(name),
                Namespace="AWS/Lambda",
                MetricName="Errors",
                Dimensions=[{"Name": "FunctionName", "Value": name}],
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=0,
                ComparisonOperator="GreaterThanThreshold",
            )
            self.cloudwatch.set_alarm_state(
                AlarmName=error_alarm_name(name), StateValue="OK", StateReason="quiet"
            )
        return name

    def alias(self, name: str) -> dict[str, Any]:
        alias: dict[str, Any] = self.lambda_.get_alias(FunctionName=name, Name="live")
        return alias

    def image_of(self, name: str, qualifier: str | None = None) -> str:
        kwargs = {"FunctionName": name} | ({"Qualifier": qualifier} if qualifier else {})
        return str(self.lambda_.get_function(**kwargs)["Code"]["ImageUri"])


@pytest.fixture
def aws(aws_env: str) -> Aws:
    return Aws(aws_env)


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="queuefirst")
    deploy.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


def run(aws: Aws, *argv: str, sleep: Callable[[float], None] | None = None) -> tuple[int, str]:
    out = io.StringIO()
    args = parse("deploy", *argv, "--endpoint-url", aws.endpoint, "--region", "us-east-1")
    code = deploy.run(args, sleep=sleep or (lambda _: None), out=out)
    return code, out.getvalue()


def weights(alias: dict[str, Any]) -> dict[str, float]:
    return dict(alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {}) or {})


def test_all_at_once_updates_publishes_and_moves_the_alias(aws: Aws) -> None:
    name = aws.function()
    new_image = image(name, "2")
    code, out = run(aws, name, "--image", new_image)
    assert code == 0, out
    alias = aws.alias(name)
    assert alias["FunctionVersion"] == "2"
    assert weights(alias) == {}
    assert aws.image_of(name) == new_image
    assert "live on version 2" in out


def test_canary_routes_a_share_then_promotes(aws: Aws) -> None:
    name = aws.function()
    seen: list[dict[str, Any]] = []
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        seen.append(aws.alias(name))

    code, out = run(
        aws,
        name,
        "--image",
        image(name, "3"),
        "--strategy",
        "canary",
        "--canary-percent",
        "10",
        "--canary-minutes",
        "10",
        "--poll-seconds",
        "60",
        sleep=sleep,
    )
    assert code == 0, out
    assert slept == [60.0] * 10
    during = seen[0]
    assert during["FunctionVersion"] == "1"
    assert weights(during) == {"2": pytest.approx(0.1)}
    after = aws.alias(name)
    assert after["FunctionVersion"] == "2"
    assert weights(after) == {}


def test_canary_rolls_back_when_the_error_alarm_fires(aws: Aws) -> None:
    name = aws.function()
    calls = 0

    def sleep(_: float) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:  # the new version starts failing a couple of minutes in
            aws.cloudwatch.set_alarm_state(
                AlarmName=error_alarm_name(name), StateValue="ALARM", StateReason="errors > 0"
            )

    code, out = run(
        aws,
        name,
        "--image",
        image(name, "4"),
        "--strategy",
        "canary",
        "--poll-seconds",
        "30",
        sleep=sleep,
    )
    assert code == deploy.EXIT_ROLLED_BACK, out
    assert calls == 2
    alias = aws.alias(name)
    assert alias["FunctionVersion"] == "1"
    assert weights(alias) == {}
    assert "rolled back to version 1" in out
    # The failed version stays published for inspection.
    assert aws.image_of(name, "2") == image(name, "4")


def test_dry_run_changes_nothing(aws: Aws) -> None:
    name = aws.function()
    before_image = aws.image_of(name)
    code, out = run(aws, name, "--image", image(name, "5"), "--strategy", "canary", "--dry-run")
    assert code == 0, out
    assert aws.alias(name)["FunctionVersion"] == "1"
    assert aws.image_of(name) == before_image
    versions = aws.lambda_.list_versions_by_function(FunctionName=name)["Versions"]
    assert sorted(v["Version"] for v in versions) == ["$LATEST", "1"]
    assert "live now serves version 1" in out
    assert f"alarm {error_alarm_name(name)} is OK" in out
    assert "route 10% of alias live to the new version" in out


def test_canary_without_an_alarm_is_refused_before_any_change(aws: Aws) -> None:
    name = aws.function(alarm=False)
    code, out = run(aws, name, "--image", image(name, "6"), "--strategy", "canary")
    assert code == deploy.EXIT_REFUSED
    assert "not found" in out
    assert aws.image_of(name) == image(name, "1")


def test_canary_is_refused_while_the_alarm_already_fires(aws: Aws) -> None:
    name = aws.function()
    aws.cloudwatch.set_alarm_state(
        AlarmName=error_alarm_name(name), StateValue="ALARM", StateReason="already failing"
    )
    code, out = run(aws, name, "--image", image(name, "7"), "--strategy", "canary")
    assert code == deploy.EXIT_REFUSED
    assert "already in ALARM" in out
    assert aws.alias(name)["FunctionVersion"] == "1"


def test_malformed_image_is_refused(aws: Aws) -> None:
    name = aws.function()
    code, out = run(aws, name, "--image", "not an image")
    assert code == deploy.EXIT_REFUSED
    assert "is not an image reference" in out


def test_plan_steps_for_a_canary() -> None:
    plan = deploy.DeployPlan(
        function="shop-orders-worker",
        image_uri=image("shop-orders-worker", "8"),
        strategy=deploy.CANARY,
        canary_percent=5,
        canary_minutes=3,
        poll_seconds=20,
    )
    assert plan.alarm == "shop-orders-worker-errors"
    assert plan.canary_polls == 9
    assert plan.steps()[2] == "route 5% of alias live to the new version"


def test_an_interrupted_canary_rolls_the_alias_back(aws: Aws) -> None:
    """Ctrl-C (or an API error) while the canary is watched leaves no split traffic."""
    name = aws.function()

    def sleep(_: float) -> None:
        assert weights(aws.alias(name)) == {"2": 0.1}  # the canary is live
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(aws, name, "--image", image(name, "5"), "--strategy", "canary", sleep=sleep)
    alias = aws.alias(name)
    assert alias["FunctionVersion"] == "1" and weights(alias) == {}
