"""Where the operator's commands find the database and the queues.

`DATABASE_URL`, `SQS_ENDPOINT_URL` and `AWS_REGION` when set (AWS, or servers
of your own); else the running `queuefirst dev` stack's state file, which also
carries the local credentials, so nothing needs exporting locally.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from queuefirst.local import DevSettings, DevState


@dataclass(frozen=True)
class Endpoints:
    database_url: str | None
    sqs_endpoint_url: str | None
    region: str
    local: bool


def find_endpoints() -> Endpoints:
    settings = DevSettings()
    state = DevState.read(settings.home.resolve())
    if state is not None and not settings.sqs_endpoint_url:
        # boto3 refuses to sign without credentials; local endpoints accept any.
        os.environ.setdefault("AWS_ACCESS_KEY_ID", state.aws_access_key_id)
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", state.aws_secret_access_key)
    return Endpoints(
        database_url=settings.database_url or (state.database_url if state else None),
        sqs_endpoint_url=settings.sqs_endpoint_url or (state.sqs_endpoint_url if state else None),
        # The stack's own region unless AWS_REGION names one: its queues live there.
        region=settings.region if "region" in settings.model_fields_set or state is None else state.region,
        local=state is not None,
    )
