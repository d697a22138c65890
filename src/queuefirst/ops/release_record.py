"""The release record: which image each function runs, in one file both deploy routes read.

`infra/images.json` (or `$QUEUEFIRST_RECORD`) maps each function to the image
its `live` alias serves:

    {"<app>-orders-worker": {"image": "<registry>/<app>-orders-worker@sha256:…",
                             "fingerprint": "<sha256 of what it is built from>",
                             "tag": "release-…", "target": "worker-orders"}}

`queuefirst release` writes an entry once the function's new version is live,
never before, so the record never names an image that is not serving;
`queuefirst deploy` rolls out the recorded image when given none, and records
the one it was given once it is live; the CDK app reads the same file
(`-c images=…`, defaulting to it), so a `cdk deploy` deploys exactly what runs.
The fingerprint is what `queuefirst plan` and `release` compare the working
tree with. A bare string entry (`"<uri>@sha256:…"`, as written by hand before
releases existed) is an image whose fingerprint is unknown.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

RECORD_ENV = "QUEUEFIRST_RECORD"
DEFAULT_RECORD = Path("infra") / "images.json"
_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")


class RecordError(ValueError):
    """The record cannot be read or names something unusable; says which and where."""


def record_path(root: Path, explicit: Path | None = None) -> Path:
    """`--record`, else `$QUEUEFIRST_RECORD`, else `<root>/infra/images.json`."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(RECORD_ENV)
    return Path(from_env) if from_env else root / DEFAULT_RECORD


@dataclass(frozen=True)
class RecordedImage:
    """One function's image as recorded: by digest, with what it was built from when known."""

    image: str
    """`<registry>/<repository>@sha256:<digest>`."""
    fingerprint: str | None = None
    tag: str | None = None
    target: str | None = None
    parts: Mapping[str, str] | None = None
    """The fingerprint's parts (base, contracts, logic, own), so `plan` can say why it moved."""

    @property
    def digest(self) -> str | None:
        found = _DIGEST.search(self.image)
        return found.group(1) if found else None

    @property
    def registry(self) -> str | None:
        """The registry host the image was pushed to (`host[:port]`), when the URI names one."""
        head = self.image.split("@", 1)[0]
        return head.split("/", 1)[0] if "/" in head else None

    def as_json(self) -> dict[str, Any]:
        scalars = {
            "image": self.image,
            "fingerprint": self.fingerprint,
            "tag": self.tag,
            "target": self.target,
        }
        body: dict[str, Any] = {key: value for key, value in scalars.items() if value is not None}
        if self.parts is not None:
            body["parts"] = dict(sorted(self.parts.items()))
        return body


def _entry(function: str, raw: Any, path: Path) -> RecordedImage:
    if isinstance(raw, str):
        return RecordedImage(raw)
    if isinstance(raw, Mapping) and isinstance(raw.get("image"), str):
        known = {key: str(raw[key]) for key in ("fingerprint", "tag", "target") if raw.get(key)}
        parts = raw.get("parts")
        if parts is not None and not (
            isinstance(parts, Mapping) and all(isinstance(v, str) for v in parts.values())
        ):
            raise RecordError(f"{path}: {function}: 'parts' must map each part to its digest, got {parts!r}")
        return RecordedImage(
            str(raw["image"]), **known, parts=MappingProxyType(dict(parts)) if parts is not None else None
        )
    raise RecordError(f"{path}: {function}: expected an image URI or an object with 'image', got {raw!r}")


@dataclass(frozen=True)
class ReleaseRecord:
    """The whole record, function name -> recorded image. Immutable: `with_image` gives a new one."""

    images: Mapping[str, RecordedImage]

    @classmethod
    def load(cls, path: Path) -> ReleaseRecord:
        """The record at `path`; an absent file is an empty record (nothing released yet)."""
        if not path.is_file():
            return cls(MappingProxyType({}))
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise RecordError(f"{path}: not a readable JSON record: {error}") from error
        if not isinstance(loaded, dict):
            raise RecordError(f"{path}: expected a JSON object of function name -> image")
        entries = {str(name): _entry(str(name), raw, path) for name, raw in loaded.items()}
        for name, entry in entries.items():
            if entry.digest is None:
                raise RecordError(f"{path}: {name}: {entry.image!r} names no sha256 digest")
        return cls(MappingProxyType(entries))

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.images))

    def get(self, function: str) -> RecordedImage | None:
        return self.images.get(function)

    def fingerprint_of(self, function: str) -> str | None:
        """What the recorded image of `function` was built from; None when unknown or unrecorded."""
        entry = self.images.get(function)
        return entry.fingerprint if entry is not None else None

    def with_image(self, function: str, image: RecordedImage) -> ReleaseRecord:
        return ReleaseRecord(MappingProxyType({**self.images, function: image}))

    def registry(self) -> str | None:
        """The one registry every recorded image lives in; None when there is none or several."""
        registries = {entry.registry for entry in self.images.values()}
        return registries.pop() if len(registries) == 1 else None

    def render(self) -> str:
        body = {name: self.images[name].as_json() for name in self}
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    def save(self, path: Path) -> None:
        """Write whole or not at all: a temporary file beside it, fsynced, renamed over it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(self.render())
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
