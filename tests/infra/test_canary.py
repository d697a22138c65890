"""A canary judged by its own version's figures, against moto's server mode.

AWS itself can't run here: moto stands in for Lambda (functions, versions,
the weighted `live` alias) and CloudWatch (PutMetricData, then GetMetricData
as the canary reads it). Each test publishes the datapoints Lambda would
(`Invocations` and `Errors` per `ExecutedVersion`) and the worker would
(`CommandsFailed` per `version`) while the canary runs; time is injected, so
a ten-minute canary runs in no time and the "sleep" is where traffic happens.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable

import pytest

from queuefirst.ops import deploy
from queuefirst.ops.canary import NOT_ENOUGH_TRAFFIC, PROMOTE, ROLL_BACK, WAIT, CanaryJudge, VersionFigures
from tests.infra.moto_aws import Aws, image, probe_answer, weights

CANARY = ("--strategy", "canary", "--canary-minutes", "10", "--poll-seconds", "60")


@pytest.fixture
def aws(aws_env: str) -> Aws:
    return Aws(aws_env)


def canary(aws: Aws, name: str, *extra: str, traffic: Callable[[int], None]) -> tuple[int, str, list[float]]:
    parser = argparse.ArgumentParser(prog="queuefirst")
    deploy.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["deploy", name, "--image", image(name, "2"), *CANARY, *extra, "--endpoint-url", aws.endpoint]
    )
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        traffic(len(slept))

    aws.answers(probe_answer())
    out = io.StringIO()
    code = deploy.run(args, sleep=sleep, out=out)
    return code, out.getvalue(), slept


def test_old_version_errors_do_not_roll_back_a_healthy_canary(aws: Aws) -> None:
    name = aws.function()

    def traffic(poll: int) -> None:
        assert aws.alias(name)["FunctionVersion"] == "1" and weights(aws.alias(name)) == {"2": 0.1}
        aws.metric(name, "Invocations", "1", 90)
        aws.metric(name, "Errors", "1", 7)  # the old version keeps failing
        aws.metric(name, "CommandsFailed", "1", 12, own=True)
        aws.metric(name, "Invocations", "2", 2)  # the canary serves, cleanly

    code, out, slept = canary(aws, name, "--min-invocations", "10", "--settle-minutes", "3", traffic=traffic)
    assert code == 0, out
    assert aws.alias(name)["FunctionVersion"] == "2" and weights(aws.alias(name)) == {}
    # Ten minutes of canary, then three of settling for CloudWatch's delay.
    assert slept == [60.0] * 13
    assert "clean over 26 invocations and a 3 min settle: promoting" in out


def test_an_unused_canary_is_not_promoted(aws: Aws) -> None:
    name = aws.function()

    def traffic(poll: int) -> None:
        aws.metric(name, "Invocations", "1", 50)  # all traffic lands on the old version

    code, out, slept = canary(aws, name, "--max-wait-minutes", "20", traffic=traffic)
    assert code == deploy.EXIT_NOT_ENOUGH_TRAFFIC, out
    assert slept == [60.0] * 20  # a bounded wait
    assert "not enough traffic: version 2 served 0 of the 10 invocations needed in 20 min" in out
    alias = aws.alias(name)
    assert alias["FunctionVersion"] == "1" and weights(alias) == {}
    assert aws.image_of(name, "2") == image(name, "2")  # kept for inspection


@pytest.mark.parametrize(
    ("metric", "own"), [("Errors", False), ("CommandsFailed", True), ("ServerErrors", True)]
)
def test_a_failing_canary_is_rolled_back(aws: Aws, metric: str, own: bool) -> None:
    name = aws.function()

    def traffic(poll: int) -> None:
        aws.metric(name, "Invocations", "2", 3)
        if poll == 2:
            aws.metric(name, metric, "2", 1, own=own)

    code, out, slept = canary(aws, name, traffic=traffic)
    assert code == deploy.EXIT_ROLLED_BACK, out
    assert len(slept) == 2
    alias = aws.alias(name)
    assert alias["FunctionVersion"] == "1" and weights(alias) == {}
    assert "rolled back to version 1" in out


def test_a_failure_that_surfaces_while_settling_still_rolls_back(aws: Aws) -> None:
    """CloudWatch publishes late: the settle period is there to catch what was delayed."""
    name = aws.function()

    def traffic(poll: int) -> None:
        aws.metric(name, "Invocations", "2", 5)
        if poll == 11:  # after the ten canary minutes, inside the settle
            aws.metric(name, "CommandsFailed", "2", 1, own=True)

    code, out, slept = canary(aws, name, traffic=traffic)
    assert code == deploy.EXIT_ROLLED_BACK, out
    assert len(slept) == 11
    assert aws.alias(name)["FunctionVersion"] == "1"


def test_an_interrupted_canary_rolls_the_alias_back(aws: Aws) -> None:
    """Ctrl-C (or an API error) while the canary is watched leaves no split traffic."""
    name = aws.function()

    def traffic(poll: int) -> None:
        assert weights(aws.alias(name)) == {"2": 0.1}  # the canary is live
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        canary(aws, name, traffic=traffic)
    alias = aws.alias(name)
    assert alias["FunctionVersion"] == "1" and weights(alias) == {}


def test_the_judge_waits_settles_and_decides() -> None:
    judge = CanaryJudge(canary_seconds=600, min_invocations=10, settle_seconds=180, max_wait_seconds=1200)
    clean = VersionFigures(invocations=20, errors=0, failures=0)
    assert judge.verdict(clean, 300) == WAIT  # canary period not over
    assert judge.verdict(clean, 600) == WAIT  # settling starts
    assert judge.verdict(clean, 779) == WAIT
    assert judge.verdict(clean, 780) == PROMOTE
    assert judge.verdict(VersionFigures(20, 0, 1), 100) == ROLL_BACK
    quiet = CanaryJudge(canary_seconds=600, min_invocations=10, settle_seconds=180, max_wait_seconds=1200)
    assert quiet.verdict(VersionFigures(9, 0, 0), 1199) == WAIT
    assert quiet.verdict(VersionFigures(9, 0, 0), 1200) == NOT_ENOUGH_TRAFFIC
