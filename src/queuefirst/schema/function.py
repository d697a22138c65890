"""The migrations function: migrate to head, then the functions' database users.

Runs on deploy (a CloudFormation trigger, which sends no event) from the api's
image, as the cluster's admin: its password comes from Secrets Manager, the
users to create and grant from `QUEUEFIRST_DB_USERS`. `queuefirst deploy
--migrate` invokes it the same way before it moves a function; the event
`{"action": "status"}` only reports the revision the database is at and the
newest this image carries, changing nothing.
"""

from __future__ import annotations

import json
import os
from typing import Any

from queuefirst.model.application import load_application
from queuefirst.schema.grants import DatabaseUsers
from queuefirst.schema.upgrade import current_revision, head_revision, prepare
from queuefirst.store.connect import with_password

STATUS = "status"


def _admin_url() -> str:
    url = os.environ["DATABASE_URL"]
    secret_arn = os.environ.get("QUEUEFIRST_DB_SECRET_ARN")
    if secret_arn:
        import boto3

        secret = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)
        url = with_password(url, json.loads(secret["SecretString"])["password"])
    return url


def handler(event: dict[str, Any] | None, context: Any) -> dict[str, Any]:
    app = load_application()
    url = _admin_url()
    if (event or {}).get("action") == STATUS:
        return {"revision": current_revision(url), "head": head_revision(app)}
    raw = os.environ.get("QUEUEFIRST_DB_USERS")
    users = None
    if raw:
        parsed = json.loads(raw)
        users = DatabaseUsers(api=parsed["api"], workers=dict(parsed["workers"]), admin=parsed.get("admin"))
    prepare(url, app, users)
    return {
        "migrated": "head",
        "revision": current_revision(url),
        "head": head_revision(app),
        "users": users.everyone if users else [],
    }
