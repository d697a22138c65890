"""`queuefirst release [ENTITY|FUNCTION ...]`: build, push, deploy and record what changed.

The steps, each printed by `--dry-run`:

1. fingerprint every image from the working tree (`queuefirst plan`) and
   compare with the release record (`queuefirst.ops.release_record`): a
   function whose fingerprint is the recorded one is neither rebuilt, pushed
   nor deployed. Without arguments every changed function is released; with
   names (an entity, a function or a bake target), those of them that changed;
2. build and push them in one `docker buildx bake --push` (the plan's
   fingerprints and schema revisions as labels), reading each pushed
   manifest's digest from bake's metadata file (`queuefirst.ops.release_build`);
3. roll each out by digest as `queuefirst deploy` does (the api first, so
   `--migrate` runs the migrations from its new image): probe the new
   version's schema, then move `live` at once or through a canary;
4. record each function's digest and fingerprint once `live` serves it, and
   not before: a refused probe or a rolled-back canary leaves `live` and the
   record where they were, and stops the release there.

`--no-deploy` builds, pushes and records without touching Lambda: the
bootstrap, before `cdk deploy` creates the functions from the record.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import ClientError

from queuefirst.model.application import Application, load_application
from queuefirst.model.names import api_function_name
from queuefirst.ops import bakefile
from queuefirst.ops.canary import NOT_ENOUGH_TRAFFIC, PROMOTE, MetricsApi
from queuefirst.ops.deploy import (
    EXIT_NOT_ENOUGH_TRAFFIC,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_ROLLED_BACK,
    add_rollout_arguments,
    make_clients,
    plan_from_args,
)
from queuefirst.ops.deploy_plan import DeployError
from queuefirst.ops.plan import compute_plan
from queuefirst.ops.release_build import Pushed, bake_command, bake_variables, build_and_push
from queuefirst.ops.release_record import DEFAULT_RECORD, RecordedImage, ReleaseRecord, record_path
from queuefirst.ops.rollout import Deployer, LambdaApi, now_utc

__all__ = ["Candidate", "ReleaseError", "register", "run", "select"]


class ReleaseError(ValueError):
    """The release cannot start: one line saying what to do."""


@dataclass(frozen=True)
class Candidate:
    """One function the release looked at: what the tree builds against what is recorded."""

    target: str
    function: str
    fingerprint: str
    recorded: RecordedImage | None
    parts: Mapping[str, str] | None = None

    @property
    def changed(self) -> bool:
        return self.recorded is None or self.recorded.fingerprint != self.fingerprint


def _names(plan: Mapping[str, Any]) -> dict[str, str]:
    """Every name a user may give for a function, to its bake target."""
    names: dict[str, str] = {}
    for target, function in plan["functions"].items():
        if target == "base":
            continue
        names[target] = names[function["image"]] = target
        if function.get("entity"):
            names[function["entity"]] = target
    return names


def select(
    app: Application, plan: Mapping[str, Any], record: ReleaseRecord, wanted: Sequence[str]
) -> list[Candidate]:
    """The functions named (every function when none is), in rollout order: the api first."""
    names = _names(plan)
    unknown = [name for name in wanted if name not in names]
    if unknown:
        choices = ", ".join(sorted(n for n, t in names.items() if n != t))
        raise ReleaseError(f"no function or entity named {', '.join(unknown)}: one of {choices}")
    targets = {names[name] for name in wanted} if wanted else set(names.values())
    api = api_function_name(app.name)
    functions = plan["functions"]
    candidates = [
        Candidate(
            target, image, functions[target]["fingerprint"], record.get(image), functions[target].get("parts")
        )
        for target in targets
        for image in [functions[target]["image"]]
    ]
    return sorted(candidates, key=lambda c: (c.function != api, c.target.startswith("worker-"), c.target))


def default_tag(now: datetime) -> str:
    """Unique per release: ECR's repositories keep tags immutable, so a tag is never pushed twice."""
    return now.strftime("release-%Y%m%dT%H%M%SZ")


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "release",
        help="build, push, deploy and record the functions whose images changed",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("names", nargs="*", metavar="ENTITY|FUNCTION", help="default: every changed one")
    parser.add_argument("--root", type=Path, default=Path("."), help="project root (default: here)")
    parser.add_argument(
        "--record", type=Path, default=None, help=f"the release record (default {DEFAULT_RECORD})"
    )
    parser.add_argument(
        "--registry",
        default=None,
        help="push to host[:port] (ECR: <account>.dkr.ecr.<region>.amazonaws.com); default: the record's",
    )
    parser.add_argument("--tag", default=None, help="image tag (default release-<UTC time>)")
    parser.add_argument("--no-deploy", action="store_true", help="build, push and record only (bootstrap)")
    add_rollout_arguments(parser)
    parser.set_defaults(run=run)
    return parser


@dataclass
class _Release:
    """One run of the command: its arguments, its output, where the record is."""

    args: argparse.Namespace
    app: Application
    record_file: Path
    record: ReleaseRecord
    out: TextIO

    def say(self, message: str) -> None:
        print(message, file=self.out, flush=True)

    def keep(self, candidate: Candidate, pushed: Pushed, tag: str) -> None:
        entry = RecordedImage(pushed.uri, candidate.fingerprint, tag, candidate.target, candidate.parts)
        self.record = self.record.with_image(candidate.function, entry)
        self.record.save(self.record_file)
        self.say(f"{candidate.function}: recorded {pushed.uri} in {self.record_file}")


def run(
    args: argparse.Namespace,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = now_utc,
    out: TextIO | None = None,
    clients: tuple[LambdaApi, MetricsApi] | None = None,
) -> int:
    started = time.monotonic()
    root: Path = args.root
    app = load_application(project=root)
    if not bakefile.is_current(root, app):
        raise ReleaseError(f"{bakefile.FILE_NAME} is out of date: run `queuefirst bakefile` and commit it")
    plan = compute_plan(root, app)
    record_file = record_path(root, args.record)
    release = _Release(args, app, record_file, ReleaseRecord.load(record_file), out or sys.stdout)
    candidates = select(app, plan, release.record, args.names)
    changed = [c for c in candidates if c.changed]
    for candidate in candidates:
        if not candidate.changed and candidate.recorded is not None:
            release.say(f"{candidate.function}: unchanged, live on {candidate.recorded.image}")
    if not changed:
        release.say("nothing to release: every image named is the one recorded")
        return EXIT_OK
    registry = args.registry or release.record.registry()
    if not registry:
        raise ReleaseError(
            "no registry to push to: pass --registry <account>.dkr.ecr.<region>.amazonaws.com "
            "(later releases read it from the record)"
        )
    tag = args.tag or default_tag(clock())
    variables = bake_variables(plan, registry, tag)
    if args.dry_run:
        _print_steps(release, changed, registry, tag, variables)
        return EXIT_OK
    if args.no_deploy:
        pushed = _build(release, root, changed, variables, started)
        for candidate in changed:
            release.keep(candidate, pushed[candidate.target], tag)
        return EXIT_OK
    lambda_api, cloudwatch = clients or make_clients(args.region, args.endpoint_url)
    _check_functions_exist(lambda_api, changed, args.alias)
    pushed = _build(release, root, changed, variables, started)
    deployer = Deployer(lambda_api, cloudwatch, sleep=sleep, clock=clock, out=release.out)
    for index, candidate in enumerate(changed):
        code = _roll_out(release, deployer, candidate, pushed[candidate.target], tag, first=index == 0)
        if code != EXIT_OK:
            left = [c.function for c in changed[index + 1 :]]
            if left:
                release.say(f"release stopped: not deployed (pushed, not recorded): {', '.join(left)}")
            return code
    untouched = len(candidates) - len(changed)
    release.say(
        f"released {', '.join(c.function for c in changed)} in {time.monotonic() - started:.1f} s"
        + (f"; {untouched} unchanged, untouched" if untouched else "")
    )
    return EXIT_OK


def _build(
    release: _Release, root: Path, changed: Sequence[Candidate], variables: Mapping[str, str], started: float
) -> dict[str, Pushed]:
    pushed = build_and_push(root, [c.target for c in changed], variables)
    release.say(
        f"built and pushed {len(pushed)} image(s) in {time.monotonic() - started:.1f} s: "
        + ", ".join(f"{c.function} {pushed[c.target].digest[:19]}" for c in changed)
    )
    return pushed


def _roll_out(
    release: _Release, deployer: Deployer, candidate: Candidate, pushed: Pushed, tag: str, *, first: bool
) -> int:
    """Deploy one pushed image; record it once live serves it."""
    plan = plan_from_args(
        release.args,
        function=candidate.function,
        image_uri=pushed.uri,
        app=release.app.name,
        migrate=release.args.migrate and first,
    )
    try:
        result = deployer.deploy(plan)
    except DeployError as error:
        release.say(f"release refused: {candidate.function}: {error}; the record is unchanged for it")
        return EXIT_REFUSED
    if result.verdict != PROMOTE:
        release.say(
            f"{candidate.function}: rolled back to version {result.old_version}; "
            f"{release.record_file} unchanged for it"
        )
        return EXIT_NOT_ENOUGH_TRAFFIC if result.verdict == NOT_ENOUGH_TRAFFIC else EXIT_ROLLED_BACK
    release.say(f"{candidate.function}: live on version {result.live_version}")
    release.keep(candidate, pushed, tag)
    return EXIT_OK


def _check_functions_exist(lambda_api: LambdaApi, changed: Sequence[Candidate], alias: str) -> None:
    """Before building anything: a function Lambda does not have yet is created by its stack."""
    missing = []
    for candidate in changed:
        try:
            lambda_api.get_alias(FunctionName=candidate.function, Name=alias)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            missing.append(candidate)
    if missing:
        names = " ".join(c.target.removeprefix("worker-") for c in missing)
        raise ReleaseError(
            f"no `{alias}` alias in Lambda for {', '.join(c.function for c in missing)}: a new function; "
            f"run `queuefirst release {names} --no-deploy`, then `npx cdk deploy` its stack "
            "(docs/deploying.md)"
        )


def _print_steps(
    release: _Release, changed: list[Candidate], registry: str, tag: str, variables: Mapping[str, str]
) -> None:
    say = release.say
    say(f"dry run: release {len(changed)} function(s), tag {tag}, registry {registry}")
    for candidate in changed:
        was = candidate.recorded.fingerprint if candidate.recorded else None
        say(
            f"  {candidate.function}: fingerprint {candidate.fingerprint[:12]}"
            + (f", recorded {was[:12]}" if was else ", none recorded")
        )
    shown = " ".join(f"{k}={v!r}" for k, v in variables.items() if k in ("REGISTRY", "TAG"))
    from_plan = ", ".join(k for k in variables if k not in ("REGISTRY", "TAG"))
    command = " ".join(bake_command([c.target for c in changed], "<metadata.json>"))
    say(f"  1. {shown} {command}  ({from_plan} from the plan)")
    say("  2. read each pushed manifest's digest from bake's metadata file")
    numbers = itertools.count(3)
    deploying = not release.args.no_deploy
    for index, candidate in enumerate(changed):
        repository = f"{registry.rstrip('/')}/{candidate.function}"
        if deploying:
            # DeployPlan wants a whole reference: a tag stands in for the digest bake will report.
            placeholder = f"{repository}:{tag}"
            plan = plan_from_args(
                release.args,
                function=candidate.function,
                image_uri=placeholder,
                app=release.app.name,
                migrate=release.args.migrate and index == 0,
            )
            say(f"  {next(numbers)}. roll out {candidate.function} ({plan.strategy}):")
            for sub in plan.steps():
                say(f"       - {sub.replace(placeholder, repository + '@<digest>')}")
        when = " once live serves it" if deploying else ""
        say(f"  {next(numbers)}. record {repository}@<digest> in {release.record_file}{when}")
