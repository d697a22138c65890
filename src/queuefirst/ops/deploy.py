"""`queuefirst deploy`: roll one function to a new image, all at once or as a canary.

The steps, each visible in `--dry-run`:

1. point the function's code at the new image (`UpdateFunctionCode`) and
   wait until the update has finished;
2. publish a version of it;
3. move the `live` alias (the one the event source mapping and the HTTP API
   call) to the new version, either at once or first as a canary: the alias
   keeps the old version and sends a share of invocations to the new one
   (`RoutingConfig.AdditionalVersionWeights`) for some minutes while the
   function's error alarm is polled. An alarm in `ALARM` rolls the alias
   back to the old version; a quiet canary promotes the new version.

CloudFormation still names the image it last deployed. Record the new
digest in the images file the CDK app reads, so the next `cdk deploy`
agrees with what this command rolled out.

Time is injected (`sleep`), so tests run a ten-minute canary in no time.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TextIO, cast

from queuefirst.model.names import LIVE_ALIAS, error_alarm_name

ALL_AT_ONCE = "all-at-once"
CANARY = "canary"

# ECR image reference: <registry>/<repository> then :tag or @sha256:<digest>.
_IMAGE = re.compile(r"^[^\s@:/]+(?::\d+)?/[a-z0-9][a-z0-9._/-]*(?::[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$")

EXIT_OK = 0
EXIT_ROLLED_BACK = 1
EXIT_REFUSED = 2


class DeployError(RuntimeError):
    """The rollout cannot start or cannot continue; nothing was left half-moved."""


class LambdaApi(Protocol):
    """The few Lambda API calls a rollout makes (boto3's `lambda` client has them)."""

    def get_alias(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def get_function_configuration(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def update_function_code(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def publish_version(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def update_alias(self, **kwargs: Any) -> Mapping[str, Any]: ...


class CloudWatchApi(Protocol):
    def describe_alarms(self, **kwargs: Any) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class DeployPlan:
    function: str
    image_uri: str
    alias: str = LIVE_ALIAS
    strategy: str = ALL_AT_ONCE
    canary_percent: float = 10.0
    canary_minutes: float = 10.0
    alarm_name: str | None = None  # default: error_alarm_name(function)
    poll_seconds: float = 30.0
    update_timeout_seconds: float = 600.0

    def __post_init__(self) -> None:
        if not _IMAGE.match(self.image_uri):
            raise DeployError(
                f"--image {self.image_uri!r} is not an image reference "
                "like <account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:<digest>"
            )
        if self.strategy not in (ALL_AT_ONCE, CANARY):
            raise DeployError(f"unknown strategy {self.strategy!r}")
        if self.strategy == CANARY:
            if not 0 < self.canary_percent < 100:
                raise DeployError(f"--canary-percent must be in (0, 100), not {self.canary_percent}")
            if self.canary_minutes <= 0:
                raise DeployError(f"--canary-minutes must be positive, not {self.canary_minutes}")
        if self.poll_seconds <= 0:
            raise DeployError(f"--poll-seconds must be positive, not {self.poll_seconds}")

    @property
    def alarm(self) -> str:
        return self.alarm_name or error_alarm_name(self.function)

    @property
    def canary_polls(self) -> int:
        return max(1, math.ceil(self.canary_minutes * 60 / self.poll_seconds))

    def steps(self) -> list[str]:
        steps = [
            f"update {self.function} code to {self.image_uri} and wait for the update",
            f"publish a new version of {self.function}",
        ]
        if self.strategy == ALL_AT_ONCE:
            steps.append(f"move alias {self.alias} to the new version (all at once)")
        else:
            steps += [
                f"route {self.canary_percent:g}% of alias {self.alias} to the new version",
                f"watch alarm {self.alarm} every {self.poll_seconds:g}s for "
                f"{self.canary_minutes:g} min; on ALARM move {self.alias} back to the old version",
                f"move alias {self.alias} to the new version (100%)",
            ]
        return steps


@dataclass(frozen=True)
class DeployResult:
    function: str
    old_version: str
    new_version: str | None
    live_version: str
    rolled_back: bool


class Deployer:
    def __init__(
        self,
        lambda_api: LambdaApi,
        cloudwatch: CloudWatchApi,
        *,
        sleep: Callable[[float], None] = time.sleep,
        out: TextIO | None = None,
    ) -> None:
        self._lambda = lambda_api
        self._cloudwatch = cloudwatch
        self._sleep = sleep
        self._out = out if out is not None else sys.stdout

    def _say(self, message: str) -> None:
        print(message, file=self._out, flush=True)

    # -- read-only look-ups (also used by the dry run) --------------------

    def live_version(self, plan: DeployPlan) -> str:
        alias = self._lambda.get_alias(FunctionName=plan.function, Name=plan.alias)
        return str(alias["FunctionVersion"])

    def alarm_state(self, name: str) -> str | None:
        found = self._cloudwatch.describe_alarms(AlarmNames=[name]).get("MetricAlarms", [])
        if not found:
            return None
        return str(found[0]["StateValue"])

    # -- the rollout -------------------------------------------------------

    def dry_run(self, plan: DeployPlan) -> None:
        self._say(f"dry run: {plan.function} {plan.alias} -> {plan.image_uri} ({plan.strategy})")
        self._say(f"  {plan.alias} now serves version {self.live_version(plan)}")
        if plan.strategy == CANARY:
            self._say(f"  alarm {plan.alarm} is {self.alarm_state(plan.alarm) or 'MISSING'}")
        for number, step in enumerate(plan.steps(), start=1):
            self._say(f"  {number}. {step}")

    def deploy(self, plan: DeployPlan) -> DeployResult:
        old_version = self.live_version(plan)
        if plan.strategy == CANARY:
            state = self.alarm_state(plan.alarm)
            if state is None:
                raise DeployError(f"alarm {plan.alarm} not found; a canary needs it")
            if state == "ALARM":
                raise DeployError(f"alarm {plan.alarm} is already in ALARM; fix that first")
        self._say(f"{plan.function}: updating code to {plan.image_uri}")
        self._lambda.update_function_code(FunctionName=plan.function, ImageUri=plan.image_uri)
        self._wait_updated(plan)
        published = self._lambda.publish_version(FunctionName=plan.function, Description=plan.image_uri)
        new_version = str(published["Version"])
        self._say(f"{plan.function}: published version {new_version} (live: {old_version})")
        if plan.strategy == ALL_AT_ONCE:
            self._point(plan, new_version, {})
            return DeployResult(plan.function, old_version, new_version, new_version, False)
        weight = round(plan.canary_percent / 100, 4)
        self._point(plan, old_version, {new_version: weight})
        try:
            for _ in range(plan.canary_polls):
                self._sleep(plan.poll_seconds)
                if self.alarm_state(plan.alarm) == "ALARM":
                    self._say(f"{plan.function}: alarm {plan.alarm} in ALARM, rolling back")
                    self._point(plan, old_version, {})
                    return DeployResult(plan.function, old_version, new_version, old_version, True)
        except BaseException:
            # Ctrl-C or an API error mid-canary: never leave the traffic split.
            self._say(f"{plan.function}: canary interrupted, rolling back to {old_version}")
            self._point(plan, old_version, {})
            raise
        self._point(plan, new_version, {})
        return DeployResult(plan.function, old_version, new_version, new_version, False)

    def _point(self, plan: DeployPlan, version: str, weights: dict[str, float]) -> None:
        self._lambda.update_alias(
            FunctionName=plan.function,
            Name=plan.alias,
            FunctionVersion=version,
            RoutingConfig={"AdditionalVersionWeights": weights},
        )
        shares = ", ".join(f"{v}: {w:.0%}" for v, w in weights.items())
        self._say(f"{plan.function}: {plan.alias} -> {version}" + (f" + {shares}" if shares else ""))

    def _wait_updated(self, plan: DeployPlan) -> None:
        # The function_updated_v2 waiter, with our own (injectable) sleep.
        waited = 0.0
        while True:
            config = self._lambda.get_function_configuration(FunctionName=plan.function)
            status = config.get("LastUpdateStatus", "Successful")
            if status == "Successful":
                return
            if status == "Failed":
                reason = config.get("LastUpdateStatusReason", "no reason given")
                raise DeployError(f"{plan.function}: code update failed: {reason}")
            if waited >= plan.update_timeout_seconds:
                raise DeployError(f"{plan.function}: code update still {status} after {waited:g}s")
            self._sleep(5.0)
            waited += 5.0


# -- command line ------------------------------------------------------------


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `deploy` subcommand to an argparse subparsers object."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "deploy",
        help="roll one function to a new image (all at once or canary)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("function", help="function name, e.g. <app>-<entity>-worker")
    parser.add_argument("--image", required=True, help="image URI, <repo-uri>@sha256:<digest>")
    parser.add_argument("--alias", default=LIVE_ALIAS)
    parser.add_argument("--strategy", choices=(ALL_AT_ONCE, CANARY), default=ALL_AT_ONCE)
    parser.add_argument("--canary-percent", type=float, default=10.0)
    parser.add_argument("--canary-minutes", type=float, default=10.0)
    parser.add_argument("--alarm", default=None, help="alarm to watch (default <function>-errors)")
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    parser.add_argument("--region", default=None)
    parser.add_argument("--endpoint-url", default=None, help="AWS endpoint (tests, emulators)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.set_defaults(run=run)
    return parser


def plan_from_args(args: argparse.Namespace) -> DeployPlan:
    return DeployPlan(
        function=args.function,
        image_uri=args.image,
        alias=args.alias,
        strategy=args.strategy,
        canary_percent=args.canary_percent,
        canary_minutes=args.canary_minutes,
        alarm_name=args.alarm,
        poll_seconds=args.poll_seconds,
    )


def make_clients(region: str | None, endpoint_url: str | None) -> tuple[LambdaApi, CloudWatchApi]:
    import boto3

    session = boto3.session.Session(region_name=region)
    lambda_api = cast(LambdaApi, session.client("lambda", endpoint_url=endpoint_url))
    cloudwatch = cast(CloudWatchApi, session.client("cloudwatch", endpoint_url=endpoint_url))
    return lambda_api, cloudwatch


def run(
    args: argparse.Namespace,
    *,
    sleep: Callable[[float], None] = time.sleep,
    out: TextIO | None = None,
    clients: tuple[LambdaApi, CloudWatchApi] | None = None,
) -> int:
    stream = out if out is not None else sys.stdout
    try:
        plan = plan_from_args(args)
        lambda_api, cloudwatch = clients or make_clients(args.region, args.endpoint_url)
        deployer = Deployer(lambda_api, cloudwatch, sleep=sleep, out=stream)
        if args.dry_run:
            deployer.dry_run(plan)
            return EXIT_OK
        result = deployer.deploy(plan)
    except DeployError as error:
        print(f"deploy refused: {error}", file=stream, flush=True)
        return EXIT_REFUSED
    if result.rolled_back:
        print(
            f"{result.function}: rolled back to version {result.old_version}; "
            f"version {result.new_version} stays published for inspection",
            file=stream,
            flush=True,
        )
        return EXIT_ROLLED_BACK
    print(f"{result.function}: live on version {result.live_version}", file=stream, flush=True)
    return EXIT_OK
