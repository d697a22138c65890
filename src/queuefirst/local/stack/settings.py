"""Settings of the local stack: environment first, then command-line flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from queuefirst.model.names import ADMIN_HANDLER, API_HANDLER, WORKER_HANDLER


class DevSettings(BaseSettings):
    # No populate_by_name: field names like `home` would read $HOME.
    model_config = SettingsConfigDict(extra="ignore")

    home: Path = Field(default=Path(".queuefirst"), alias="QUEUEFIRST_HOME")
    host: str = Field(default="127.0.0.1", alias="QUEUEFIRST_HOST")
    port: int = Field(default=3000, alias="QUEUEFIRST_PORT")
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    sqs_endpoint_url: str | None = Field(default=None, alias="SQS_ENDPOINT_URL")
    pg_port: int = Field(default=0, alias="QUEUEFIRST_PG_PORT")
    sqs_port: int = Field(default=0, alias="QUEUEFIRST_SQS_PORT")
    region: str = Field(default="us-east-1", alias="AWS_REGION")
    # The kit's own composition roots; override to run handlers of your own.
    api_handler: str = Field(default=API_HANDLER, alias="QUEUEFIRST_API_HANDLER")
    worker_handler: str = Field(default=WORKER_HANDLER, alias="QUEUEFIRST_WORKER_HANDLER")
    # The admin console's; empty: the stack runs no console.
    admin_handler: str = Field(default=ADMIN_HANDLER, alias="QUEUEFIRST_ADMIN_HANDLER")
    # "orders=3,api=2": local pool sizes over the registry's local_concurrency.
    concurrency: str = Field(default="", alias="QUEUEFIRST_CONCURRENCY")
    # Seconds; 0 keeps each entity's own (6x its timeout). Lower it to see
    # retries and dead letters within seconds instead of minutes.
    visibility_timeout: int = Field(default=0, alias="QUEUEFIRST_VISIBILITY_TIMEOUT")
    api_concurrency: int = Field(default=2, alias="QUEUEFIRST_API_CONCURRENCY")
    # The api's runtimes at most (Lambda's concurrency limit, locally): more start
    # when every one is busy, as Lambda adds execution environments.
    api_limit: int = Field(default=8, alias="QUEUEFIRST_API_LIMIT")

    def concurrency_overrides(self) -> dict[str, int]:
        overrides: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in self.concurrency.split(","))):
            name, _, value = part.partition("=")
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"QUEUEFIRST_CONCURRENCY: {part!r} is not <function>=<positive number>")
            overrides[name.strip()] = int(value)
        return overrides
