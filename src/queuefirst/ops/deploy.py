"""`queuefirst deploy`: roll one function to a new image, all at once or as a canary.

The steps, each visible in `--dry-run`:

1. with `--migrate`, run the migrations function first (deploying the api's
   image, move the migrations function to it before that: it runs the api's
   image);
2. point the function's code at the new image (`UpdateFunctionCode`), wait
   until the update has finished, publish a version of it;
3. probe the new version: it must find its database at the schema revision
   its image needs, or nothing moves (the message says what to run);
4. move the `live` alias (the one the event source mapping and the HTTP API
   call) to the new version, either at once or first as a canary: the alias
   keeps the old version and sends a share of invocations to the new one,
   judged by its own figures only (`queuefirst.ops.canary`): any error of the
   new version rolls back; it is promoted after enough invocations and a
   settle period; too little traffic in the longest wait rolls back too.

Without `--image` it rolls out the image the release record names
(`queuefirst.ops.release_record`: what `live` should serve). Given one, it
records it there once `live` serves it (when a record exists), so the next
`cdk deploy`, which reads the same record, agrees with what this command
rolled out. `queuefirst release` builds, pushes and deploys in one step.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO, cast

from queuefirst.model.names import LIVE_ALIAS, migrations_function_name
from queuefirst.ops.canary import NOT_ENOUGH_TRAFFIC, PROMOTE, MetricsApi
from queuefirst.ops.deploy_plan import ALL_AT_ONCE, CANARY, DeployError, DeployPlan
from queuefirst.ops.release_record import DEFAULT_RECORD, RecordedImage, ReleaseRecord, record_path
from queuefirst.ops.rollout import Deployer, DeployResult, LambdaApi, now_utc

EXIT_OK = 0
EXIT_ROLLED_BACK = 1
EXIT_REFUSED = 2
EXIT_NOT_ENOUGH_TRAFFIC = 3

__all__ = ["add_rollout_arguments", "plan_from_args", "register", "run"]


# -- command line ------------------------------------------------------------


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `deploy` subcommand to an argparse subparsers object."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "deploy",
        help="roll one function to a new image (all at once or canary)",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("function", help="function name, e.g. <app>-<entity>-worker")
    parser.add_argument(
        "--image", default=None, help="image URI, <repo-uri>@sha256:<digest> (default: the recorded one)"
    )
    parser.add_argument(
        "--record", type=Path, default=None, help=f"the release record (default {DEFAULT_RECORD})"
    )
    add_rollout_arguments(parser)
    parser.set_defaults(run=run)
    return parser


def add_rollout_arguments(parser: argparse.ArgumentParser) -> None:
    """How a rollout goes: shared by `deploy` and `release`."""
    parser.add_argument("--alias", default=LIVE_ALIAS)
    parser.add_argument("--strategy", choices=(ALL_AT_ONCE, CANARY), default=ALL_AT_ONCE)
    parser.add_argument("--canary-percent", type=float, default=10.0)
    parser.add_argument("--canary-minutes", type=float, default=10.0)
    parser.add_argument("--min-invocations", type=int, default=10, help="of the new version, to promote")
    parser.add_argument("--settle-minutes", type=float, default=3.0, help="clean wait for metric delay")
    parser.add_argument("--max-wait-minutes", type=float, default=30.0, help="then: not enough traffic")
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    parser.add_argument("--migrate", action="store_true", help="run the migrations function first")
    parser.add_argument("--migrations-function", default=None, help="default <app>-migrations")
    parser.add_argument(
        "--skip-schema-check", action="store_true", help="do not probe the new version (images built before)"
    )
    parser.add_argument("--region", default=None)
    parser.add_argument("--endpoint-url", default=None, help="AWS endpoint (tests, emulators)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")


def _app_name() -> str | None:
    from queuefirst.model.application import ApplicationError, load_application

    try:
        return load_application().name
    except ApplicationError:
        return None


def plan_from_args(
    args: argparse.Namespace,
    *,
    function: str | None = None,
    image_uri: str | None = None,
    app: str | None = None,
    migrate: bool | None = None,
) -> DeployPlan:
    """The rollout the arguments ask for; `release` names the function, image and app itself."""
    app = app or _app_name()
    migrations = args.migrations_function or (migrations_function_name(app) if app else None)
    return DeployPlan(
        function=function or args.function,
        image_uri=image_uri or args.image,
        alias=args.alias,
        strategy=args.strategy,
        canary_percent=args.canary_percent,
        canary_minutes=args.canary_minutes,
        min_invocations=args.min_invocations,
        settle_minutes=args.settle_minutes,
        max_wait_minutes=args.max_wait_minutes,
        poll_seconds=args.poll_seconds,
        migrate=args.migrate if migrate is None else migrate,
        check_schema=not args.skip_schema_check,
        migrations_function=migrations,
        app=app,
    )


def _recorded_image(args: argparse.Namespace, path: Path) -> str:
    entry = ReleaseRecord.load(path).get(args.function)
    if entry is None:
        raise DeployError(f"{path} records no image for {args.function}: pass --image <uri>@sha256:<digest>")
    return entry.image


def _record(path: Path, function: str, image_uri: str, say: Callable[[str], None]) -> None:
    """Record a deployed image in an existing record (a new one would name this function alone)."""
    if not path.is_file():
        say(f"no release record at {path}: a `cdk deploy` will not know {function} runs {image_uri}")
        return
    record = ReleaseRecord.load(path)
    before = record.get(function)
    if before is not None and before.image == image_uri:
        return
    # An image given by hand: what it was built from is not known here, so the next
    # `queuefirst release` rebuilds this function rather than trust a stale fingerprint.
    record.with_image(function, RecordedImage(image_uri)).save(path)
    say(f"{function}: recorded {image_uri} in {path}")


def make_clients(region: str | None, endpoint_url: str | None) -> tuple[LambdaApi, MetricsApi]:
    import boto3

    session = boto3.session.Session(region_name=region)
    lambda_api = cast(LambdaApi, session.client("lambda", endpoint_url=endpoint_url))
    cloudwatch = cast(MetricsApi, session.client("cloudwatch", endpoint_url=endpoint_url))
    return lambda_api, cloudwatch


def run(
    args: argparse.Namespace,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = now_utc,
    out: TextIO | None = None,
    clients: tuple[LambdaApi, MetricsApi] | None = None,
) -> int:
    stream = out if out is not None else sys.stdout

    def say(message: str) -> None:
        print(message, file=stream, flush=True)

    try:
        record = record_path(Path("."), args.record)
        if args.image is None:
            args.image = _recorded_image(args, record)
        plan = plan_from_args(args)
        lambda_api, cloudwatch = clients or make_clients(args.region, args.endpoint_url)
        deployer = Deployer(lambda_api, cloudwatch, sleep=sleep, clock=clock, out=stream)
        if args.dry_run:
            say(f"dry run: {plan.function} {plan.alias} -> {plan.image_uri} ({plan.strategy})")
            say(f"  {plan.alias} now serves version {deployer.live_version(plan)}")
            for number, step in enumerate(plan.steps(), start=1):
                say(f"  {number}. {step}")
            return EXIT_OK
        result: DeployResult = deployer.deploy(plan)
    except DeployError as error:
        say(f"deploy refused: {error}")
        return EXIT_REFUSED
    if result.verdict == PROMOTE:
        say(f"{result.function}: live on version {result.live_version}")
        _record(record, plan.function, plan.image_uri, say)
        return EXIT_OK
    say(
        f"{result.function}: rolled back to version {result.old_version}; "
        f"version {result.new_version} stays published for inspection"
    )
    return EXIT_NOT_ENOUGH_TRAFFIC if result.verdict == NOT_ENOUGH_TRAFFIC else EXIT_ROLLED_BACK
