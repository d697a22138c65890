"""What one rollout is asked to do (`DeployPlan`), and how it can be refused.

The plan is the rollout engine's input (`queuefirst.ops.rollout`), built by
the command line (`queuefirst.ops.deploy`) or a test; it lives here, apart
from both, so neither imports the other for its type. `steps` is what
`--dry-run` prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from queuefirst.model.names import LIVE_ALIAS, api_function_name

ALL_AT_ONCE = "all-at-once"
CANARY = "canary"

# ECR image reference: <registry>/<repository> then :tag or @sha256:<digest>.
_IMAGE = re.compile(r"^[^\s@:/]+(?::\d+)?/[a-z0-9][a-z0-9._/-]*(?::[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$")


class DeployError(RuntimeError):
    """The rollout cannot start or cannot continue; nothing was left half-moved."""


class SchemaRefused(DeployError):
    """The new version's database is behind it: nothing moved to it."""


@dataclass(frozen=True)
class DeployPlan:
    function: str
    image_uri: str
    alias: str = LIVE_ALIAS
    strategy: str = ALL_AT_ONCE
    canary_percent: float = 10.0
    canary_minutes: float = 10.0
    min_invocations: int = 10
    settle_minutes: float = 3.0
    max_wait_minutes: float = 30.0
    poll_seconds: float = 30.0
    update_timeout_seconds: float = 600.0
    migrate: bool = False
    check_schema: bool = True
    migrations_function: str | None = None
    app: str | None = None

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
            if self.min_invocations < 1:
                raise DeployError(f"--min-invocations must be at least 1, not {self.min_invocations}")
            if self.settle_minutes < 0:
                raise DeployError(f"--settle-minutes must not be negative, not {self.settle_minutes}")
        if self.poll_seconds <= 0:
            raise DeployError(f"--poll-seconds must be positive, not {self.poll_seconds}")

    @property
    def carries_migrations(self) -> bool:
        """The api's image is the migrations function's image too."""
        return self.app is not None and self.function == api_function_name(self.app)

    def steps(self) -> list[str]:
        steps: list[str] = []
        if self.migrate:
            if self.carries_migrations:
                steps.append(f"update {self.migrations_function} code to {self.image_uri}")
            steps.append(f"invoke {self.migrations_function}: migrate the database to its head")
        steps += [
            f"update {self.function} code to {self.image_uri} and wait for the update",
            f"publish a new version of {self.function}",
        ]
        if self.check_schema:
            steps.append("probe the new version: its database must have the schema revision it needs")
        if self.strategy == ALL_AT_ONCE:
            steps.append(f"move alias {self.alias} to the new version (all at once)")
        else:
            steps += [
                f"route {self.canary_percent:g}% of alias {self.alias} to the new version",
                f"every {self.poll_seconds:g}s read the new version's own invocations, errors and failed "
                "records (ExecutedVersion / version dimensions); any error: back to the old version",
                f"after {self.canary_minutes:g} min and at least {self.min_invocations} invocations, settle "
                f"{self.settle_minutes:g} min for metric delay; short of invocations after "
                f"{max(self.max_wait_minutes, self.canary_minutes):g} min: back to the old version "
                "(not enough traffic)",
                f"move alias {self.alias} to the new version (100%)",
            ]
        return steps
