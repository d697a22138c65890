"""Settings of one deployment, read from CDK context in one place.

Images are named per function in a JSON object (``-c images=images.json``,
a path, or the JSON text itself, or an object in ``cdk.json``): function
name -> ``<repo-uri>@sha256:<digest>``, ``<repo-uri>:<tag>``, ``sha256:<digest>``
or a bare tag, or an object whose ``image`` is one of those: the entries
`queuefirst release` records (with the fingerprint each image was built from).
Without ``-c images`` the app reads the release record itself,
``infra/images.json`` or ``$QUEUEFIRST_RECORD`` (`record_file`), so a
``cdk deploy`` deploys exactly what the releases rolled out. Each function's
stack reads only its own entry, so a new digest for one entity changes that
entity's stack and nothing else.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from queuefirst_infra.errors import InfraConfigError

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
BOOTSTRAP_TAG = "bootstrap"
# Where `queuefirst release` records each function's image (queuefirst.ops.release_record).
RECORD_ENV = "QUEUEFIRST_RECORD"
RECORD_FILE = "images.json"


def record_file(infra_dir: Path) -> Path | None:
    """The release record the app reads when no ``-c images`` is given; None before the first."""
    path = Path(os.environ.get(RECORD_ENV) or infra_dir / RECORD_FILE)
    return path if path.is_file() else None


@dataclass(frozen=True)
class ImageRef:
    """One function's image in its ECR repository: a digest (preferred) or an immutable tag."""

    tag_or_digest: str
    repository: str | None = None  # as written in the URI, checked against the expected one

    @property
    def is_digest(self) -> bool:
        return self.tag_or_digest.startswith("sha256:")

    @classmethod
    def parse(cls, function: str, value: str) -> ImageRef:
        repository: str | None = None
        reference = value.strip()
        if "@" in reference:
            uri, reference = reference.split("@", 1)
            repository = uri.split("/", 1)[1] if "/" in uri else None
        elif "/" in reference:
            uri, _, tag = reference.rpartition(":")
            if "/" in tag or not uri:
                raise InfraConfigError(f"images: {function}: {value!r} has no tag or digest")
            repository, reference = uri.split("/", 1)[1], tag
        if not (_DIGEST.match(reference) or _TAG.match(reference)):
            raise InfraConfigError(
                f"images: {function}: {reference!r} is neither sha256:<64 hex> nor an image tag"
            )
        return cls(reference, repository)


def _load_images(raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return {str(k): _image_of(str(k), v) for k, v in raw.items()}
    if not isinstance(raw, str):
        raise InfraConfigError(f"images: expected a JSON object or a path, got {type(raw).__name__}")
    text = raw.strip()
    if not text.startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise InfraConfigError(f"images: no such file {text!r}")
        text = path.read_text(encoding="utf-8")
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as error:
        raise InfraConfigError(f"images: not valid JSON: {error}") from error
    if not isinstance(loaded, dict):
        raise InfraConfigError("images: expected a JSON object of function name -> image")
    return {str(k): _image_of(str(k), v) for k, v in loaded.items()}


def _image_of(function: str, entry: object) -> str:
    """An entry's image: the string itself, or a release record entry's ``image``."""
    if isinstance(entry, Mapping):
        image = entry.get("image")
        if not isinstance(image, str):
            raise InfraConfigError(f"images: {function}: a record entry needs an 'image', got {entry!r}")
        return image
    return str(entry)


@dataclass(frozen=True)
class InfraConfig:
    """Deployment settings; every one can be set with ``-c <name>=<value>``."""

    images: Mapping[str, str] = field(default_factory=dict)
    # Aurora Serverless v2 capacity range (ACU) of the writer.
    db_min_acu: float = 0.5
    db_max_acu: float = 4.0
    # max_connections the cluster has at db_max_acu (AWS documents it per ACU);
    # the proxy may use proxy_max_connections_percent of it.
    db_max_connections: int = 400
    proxy_max_connections_percent: int = 50
    # Connections one function instance holds (its SQLAlchemy pool size).
    db_pool_size: int = 1
    api_reserved_concurrency: int = 20
    api_memory_mb: int = 512
    api_timeout_seconds: int = 29
    api_throttle_rate: int = 200
    api_throttle_burst: int = 400
    log_retention_days: int = 365
    # Who the alarms reach: addresses subscribed by email to <app>-alarms (comma-separated).
    alarm_email: str | None = None

    @classmethod
    def from_context(cls, get: Any) -> InfraConfig:
        """Build from a context getter (``app.node.try_get_context``)."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = get(item.name)
            if raw is None:
                continue
            if item.name == "images":
                values["images"] = _load_images(raw)
            elif item.name == "alarm_email":
                values[item.name] = str(raw)
            else:
                kind = float if item.name in ("db_min_acu", "db_max_acu") else int
                try:
                    values[item.name] = kind(raw)
                except (TypeError, ValueError) as error:
                    raise InfraConfigError(f"context {item.name}={raw!r}: {error}") from error
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        if not 0.5 <= self.db_min_acu <= self.db_max_acu <= 256:
            raise InfraConfigError(
                f"db_min_acu={self.db_min_acu} and db_max_acu={self.db_max_acu} must satisfy "
                "0.5 <= min <= max <= 256"
            )
        if not 1 <= self.proxy_max_connections_percent <= 100:
            raise InfraConfigError(
                f"proxy_max_connections_percent={self.proxy_max_connections_percent} must be within 1..100"
            )
        if not 1 <= self.api_timeout_seconds <= 30:
            raise InfraConfigError(
                f"api_timeout_seconds={self.api_timeout_seconds}: the HTTP API waits 30 s at most"
            )
        for function, value in self.images.items():
            ImageRef.parse(function, value)
        for email in self.alarm_emails:
            if not _EMAIL.match(email):
                raise InfraConfigError(f"alarm_email: {email!r} is not an email address")

    @property
    def alarm_emails(self) -> list[str]:
        return [e.strip() for e in (self.alarm_email or "").split(",") if e.strip()]

    def image(self, function: str) -> ImageRef | None:
        value = self.images.get(function)
        return None if value is None else ImageRef.parse(function, value)
