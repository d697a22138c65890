"""Typed settings, read from the environment in one place per function.

Each field names its environment variable (its alias); nothing else is read,
so a field called `entity` never picks up an unrelated variable. The
application itself is not a setting here: `QUEUEFIRST_APPLICATION` names it
and `queuefirst.model.application.load_application` reads it.
"""

from __future__ import annotations

import os
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from queuefirst.model.principal import OPERATORS, USERS


class EnvironmentSettings(BaseModel):
    """Read with `from_environment()`, validated by pydantic (a bad value names its variable)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=False)

    @classmethod
    def from_environment(cls, **overrides: object) -> Self:
        aliases = [field.alias or name for name, field in cls.model_fields.items()]
        values: dict[str, object] = {alias: os.environ[alias] for alias in aliases if alias in os.environ}
        return cls.model_validate(values | overrides)


class CommonSettings(EnvironmentSettings):
    database_url: str = Field(alias="DATABASE_URL")
    sqs_endpoint_url: str | None = Field(default=None, alias="SQS_ENDPOINT_URL")
    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")
    # Queue URLs resolved by name when absent; in AWS the stacks pass them.
    queue_url_prefix: str | None = Field(default=None, alias="QUEUEFIRST_QUEUE_URL_PREFIX")
    # On AWS: log in to RDS Proxy with an IAM token instead of a password.
    db_iam_auth: bool = Field(default=False, alias="QUEUEFIRST_DB_IAM_AUTH")
    # Plan each statement once per connection (see queuefirst.store.database).
    db_prepared_statements: bool = Field(default=True, alias="QUEUEFIRST_DB_PREPARED_STATEMENTS")
    # The schema revision this image needs (baked at build time); unset: not checked.
    schema_revision: str | None = Field(default=None, alias="QUEUEFIRST_SCHEMA_REVISION")
    # Lambda's own: the published version running ("$LATEST" outside an alias), so
    # metrics can be told apart per version during a canary.
    function_version: str = Field(default="$LATEST", alias="AWS_LAMBDA_FUNCTION_VERSION")
    # X-Ray through Powertools' Tracer: on where the infra turns it on, off locally.
    tracing: bool = Field(default=False, alias="QUEUEFIRST_TRACING")


class ApiSettings(CommonSettings):
    max_body_bytes: int = Field(default=64 * 1024, alias="QUEUEFIRST_MAX_BODY_BYTES")
    page_limit_max: int = Field(default=100, alias="QUEUEFIRST_PAGE_LIMIT_MAX")
    # The issuers the gateway's authorizers trust (infra: the user pools; dev: the local
    # issuer). Set, a route's claims must come from its authorizer's issuer.
    users_issuer: str | None = Field(default=None, alias="QUEUEFIRST_USERS_ISSUER")
    operators_issuer: str | None = Field(default=None, alias="QUEUEFIRST_OPERATORS_ISSUER")

    @property
    def issuers(self) -> dict[str, str]:
        found = {USERS: self.users_issuer, OPERATORS: self.operators_issuer}
        return {kind: issuer for kind, issuer in found.items() if issuer}


class WorkerSettings(CommonSettings):
    entity: str = Field(alias="QUEUEFIRST_ENTITY")
    # The queues this worker may send to, as the registry and IAM say (its asks and the
    # entities it answers), comma-separated (the local stack and the infra set it). Unset,
    # the sender checks nothing more than the worker does: its rules are held to their
    # declarations, and an answer goes only to the asker its trail names.
    sends_to: str | None = Field(default=None, alias="QUEUEFIRST_SENDS_TO")

    @property
    def allowed_targets(self) -> tuple[str, ...] | None:
        return None if self.sends_to is None else tuple(n for n in self.sends_to.split(",") if n)
