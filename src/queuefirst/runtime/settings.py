"""Typed settings, read from the environment in one place per function.

The application itself is not a setting here: `QUEUEFIRST_APPLICATION` names
it and `queuefirst.model.application.load_application` reads it.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    # Only the aliases are read: field names like `entity` must not pick up
    # unrelated environment variables.
    model_config = SettingsConfigDict(extra="ignore")

    database_url: str = Field(alias="DATABASE_URL")
    sqs_endpoint_url: str | None = Field(default=None, alias="SQS_ENDPOINT_URL")
    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")
    # Queue URLs resolved by name when absent; in AWS the stacks pass them.
    queue_url_prefix: str | None = Field(default=None, alias="QUEUEFIRST_QUEUE_URL_PREFIX")
    db_pool_size: int = Field(default=2, alias="QUEUEFIRST_DB_POOL_SIZE")
    # On AWS: log in to RDS Proxy with an IAM token instead of a password.
    db_iam_auth: bool = Field(default=False, alias="QUEUEFIRST_DB_IAM_AUTH")
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


class WorkerSettings(CommonSettings):
    entity: str = Field(alias="QUEUEFIRST_ENTITY")
