"""The steps of one function's rollout, against the Lambda and CloudWatch APIs.

Nothing moves the `live` alias before the new version has shown, from
inside AWS, that its database serves it: the version is invoked with the
schema probe (`queuefirst.store.revision`), and a version whose database is
behind either fails its init (SchemaBehind) or answers that it is not
satisfied. `--migrate` runs the migrations function first; deploying the
api's image moves the migrations function (which runs from the api's image)
to it before that.

Time is injected (`sleep`, `clock`), so tests run a ten-minute canary in no time.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

from queuefirst.ops.canary import (
    NOT_ENOUGH_TRAFFIC,
    PROMOTE,
    ROLL_BACK,
    CanaryJudge,
    MetricsApi,
    read_figures,
)
from queuefirst.ops.deploy_plan import DeployError, DeployPlan, SchemaRefused
from queuefirst.store.revision import PROBE_EVENT


class LambdaApi(Protocol):
    """The Lambda API calls a rollout makes (boto3's `lambda` client has them)."""

    def get_alias(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def get_function_configuration(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def update_function_code(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def publish_version(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def update_alias(self, **kwargs: Any) -> Mapping[str, Any]: ...
    def invoke(self, **kwargs: Any) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class DeployResult:
    function: str
    old_version: str
    new_version: str | None
    live_version: str
    verdict: str  # promote (or all at once), roll back, not enough traffic


def now_utc() -> datetime:
    return datetime.now(UTC)


class Deployer:
    def __init__(
        self,
        lambda_api: LambdaApi,
        cloudwatch: MetricsApi,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = now_utc,
        out: TextIO | None = None,
    ) -> None:
        self._lambda = lambda_api
        self._cloudwatch = cloudwatch
        self._sleep = sleep
        self._clock = clock
        self._out = out if out is not None else sys.stdout

    def say(self, message: str) -> None:
        print(message, file=self._out, flush=True)

    def live_version(self, plan: DeployPlan) -> str:
        alias = self._lambda.get_alias(FunctionName=plan.function, Name=plan.alias)
        return str(alias["FunctionVersion"])

    # -- the rollout -------------------------------------------------------------------

    def deploy(self, plan: DeployPlan) -> DeployResult:
        old_version = self.live_version(plan)
        if plan.migrate:
            self.migrate(plan)
        self._update_code(plan.function, plan.image_uri, plan.update_timeout_seconds)
        published = self._lambda.publish_version(FunctionName=plan.function, Description=plan.image_uri)
        new_version = str(published["Version"])
        self.say(f"{plan.function}: published version {new_version} (live: {old_version})")
        if plan.check_schema:
            self.probe(plan, new_version)
        if plan.strategy == "all-at-once":
            self._point(plan, new_version, {})
            return DeployResult(plan.function, old_version, new_version, new_version, PROMOTE)
        self._point(plan, old_version, {new_version: round(plan.canary_percent / 100, 4)})
        try:
            verdict = self._watch(plan, new_version)
        except BaseException:
            # Ctrl-C or an API error mid-canary: never leave the traffic split.
            self.say(f"{plan.function}: canary interrupted, rolling back to {old_version}")
            self._point(plan, old_version, {})
            raise
        live = new_version if verdict == PROMOTE else old_version
        self._point(plan, live, {})
        return DeployResult(plan.function, old_version, new_version, live, verdict)

    def migrate(self, plan: DeployPlan) -> dict[str, Any]:
        """Run the migrations function (on the api's new image when that is what rolls out)."""
        name = plan.migrations_function
        if name is None:
            raise DeployError("--migrate needs the migrations function: pass --migrations-function")
        if plan.carries_migrations:
            self.say(f"{name}: moving to {plan.image_uri} (it runs the api's image)")
            self._update_code(name, plan.image_uri, plan.update_timeout_seconds)
        self.say(f"{name}: migrating")
        answer = self._invoke(name, {})
        if "error" in answer:
            raise DeployError(f"{name} failed, nothing rolled out: {answer['error']}")
        self.say(
            f"{name}: database at revision {answer.get('revision')} (its image's head: {answer.get('head')})"
        )
        return answer

    def probe(self, plan: DeployPlan, version: str) -> None:
        """Refuse, before any traffic moves, a version whose database is behind it."""
        answer = self._invoke(plan.function, dict(PROBE_EVENT), qualifier=version)
        again = (
            f"version {version} stays published and {plan.alias} unchanged; run the migrations first: "
            f"`queuefirst deploy {plan.function} --image {plan.image_uri} --migrate` "
            f"(invokes {plan.migrations_function or '<app>-migrations'})"
        )
        if "error" in answer:
            if answer.get("error_type") == "SchemaBehind":
                raise SchemaRefused(f"version {version} refused to start: {answer['error']}; {again}")
            raise DeployError(f"version {version} failed its schema probe: {answer['error']}")
        schema = answer.get("schema")
        if not isinstance(schema, dict):
            raise DeployError(
                f"version {version} did not answer the schema probe (an image built before schema "
                "revisions?); pass --skip-schema-check to roll it out unchecked"
            )
        if not schema.get("ok"):
            raise SchemaRefused(
                f"version {version} needs schema revision {schema.get('needs')} but the database is at "
                f"{schema.get('database') or 'none'}; {again}"
            )
        self.say(
            f"{plan.function}: version {version} needs revision {schema.get('needs')}, the database has "
            f"{schema.get('database')}"
        )

    # -- helpers -----------------------------------------------------------------------

    def _watch(self, plan: DeployPlan, version: str) -> str:
        judge = CanaryJudge(
            canary_seconds=plan.canary_minutes * 60,
            min_invocations=plan.min_invocations,
            settle_seconds=plan.settle_minutes * 60,
            max_wait_seconds=max(plan.max_wait_minutes, plan.canary_minutes) * 60,
        )
        started = self._clock()
        elapsed = 0.0
        while True:
            self._sleep(plan.poll_seconds)
            elapsed += plan.poll_seconds
            figures = read_figures(
                self._cloudwatch,
                function=plan.function,
                alias=plan.alias,
                version=version,
                start=started,
                end=self._clock(),
            )
            verdict = judge.verdict(figures, elapsed)
            if verdict == ROLL_BACK:
                self.say(
                    f"{plan.function}: version {version} had {figures.errors} errors and "
                    f"{figures.failures} failures in {figures.invocations} invocations: rolling back"
                )
                return verdict
            if verdict == NOT_ENOUGH_TRAFFIC:
                self.say(
                    f"{plan.function}: not enough traffic: version {version} served {figures.invocations} "
                    f"of the {plan.min_invocations} invocations needed in {elapsed / 60:g} min: rolling back"
                )
                return verdict
            if verdict == PROMOTE:
                self.say(
                    f"{plan.function}: version {version} clean over {figures.invocations} invocations "
                    f"and a {plan.settle_minutes:g} min settle: promoting"
                )
                return verdict

    def _invoke(self, function: str, event: dict[str, Any], qualifier: str | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"FunctionName": function, "Payload": json.dumps(event).encode()}
        if qualifier:
            kwargs["Qualifier"] = qualifier
        response = self._lambda.invoke(**kwargs)
        raw: Any = response.get("Payload")
        body: bytes = raw.read() if hasattr(raw, "read") else (raw or b"")
        try:
            payload = json.loads(body or b"null")
        except json.JSONDecodeError:
            payload = {"raw": body.decode(errors="replace")}
        if response.get("FunctionError"):
            detail = payload if isinstance(payload, dict) else {}
            message = detail.get("errorMessage") or str(payload)
            return {
                "error": f"{detail.get('errorType', 'error')}: {message}",
                "error_type": detail.get("errorType"),
            }
        return payload if isinstance(payload, dict) else {"answer": payload}

    def _point(self, plan: DeployPlan, version: str, weights: dict[str, float]) -> None:
        self._lambda.update_alias(
            FunctionName=plan.function,
            Name=plan.alias,
            FunctionVersion=version,
            RoutingConfig={"AdditionalVersionWeights": weights},
        )
        shares = ", ".join(f"{v}: {w:.0%}" for v, w in weights.items())
        self.say(f"{plan.function}: {plan.alias} -> {version}" + (f" + {shares}" if shares else ""))

    def _update_code(self, function: str, image_uri: str, timeout: float) -> None:
        self.say(f"{function}: updating code to {image_uri}")
        self._lambda.update_function_code(FunctionName=function, ImageUri=image_uri)
        # The function_updated_v2 waiter, with our own (injectable) sleep.
        waited = 0.0
        while True:
            config = self._lambda.get_function_configuration(FunctionName=function)
            status = config.get("LastUpdateStatus", "Successful")
            if status == "Successful":
                return
            if status == "Failed":
                reason = config.get("LastUpdateStatusReason", "no reason given")
                raise DeployError(f"{function}: code update failed: {reason}")
            if waited >= timeout:
                raise DeployError(f"{function}: code update still {status} after {waited:g}s")
            self._sleep(5.0)
            waited += 5.0
