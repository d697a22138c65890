"""How a function reaches PostgreSQL: its URL read once, its password (or RDS IAM token).

One parser for every `postgresql://` spelling (SQLAlchemy's `postgresql+psycopg://`
included) and one way to log in, for the functions' psycopg connections and the
migrations' SQLAlchemy engine alike.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote, urlsplit

import psycopg


def conninfo(url: str) -> dict[str, Any]:
    """Connection parameters from any `postgresql://` spelling."""
    parts = urlsplit(url)
    if parts.scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {parts.scheme}://…")
    params: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": parts.port or 5432,
        "dbname": unquote(parts.path.lstrip("/")) or "postgres",
    }
    if parts.username:
        params["user"] = unquote(parts.username)
    if parts.password:
        params["password"] = unquote(parts.password)
    for item in filter(None, parts.query.split("&")):
        name, _, value = item.partition("=")
        params[name] = unquote(value)
    return params


def with_password(url: str, password: str) -> str:
    """`url` logging in with `password` instead of whatever it carries."""
    parts = urlsplit(url)
    user = quote(parts.username or "", safe="")
    host = parts.hostname or "localhost"
    netloc = f"{user}:{quote(password, safe='')}@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def iam_token(params: dict[str, Any], region: str) -> str:
    """An RDS IAM token for these parameters' host, port and user (valid 15 minutes)."""
    import boto3  # only on AWS, where the login is an IAM token

    rds = boto3.client("rds", region_name=region or None)
    token: str = rds.generate_db_auth_token(
        DBHostname=params["host"], Port=int(params["port"]), DBUsername=params["user"]
    )
    return token


def connect(
    params: dict[str, Any], *, iam_auth: bool = False, region: str = "", **options: Any
) -> psycopg.Connection[Any]:
    """A new connection; with `iam_auth`, its password a fresh IAM token."""
    if iam_auth:
        params = params | {"password": iam_token(params, region)}
    return psycopg.connect(**params, **options)
