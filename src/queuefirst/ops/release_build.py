"""Building and pushing a release's images with bake, and reading back what was pushed.

One `docker buildx bake --push` for every target of a release, so the shared
base is built once; the variables are the ones `make images` passes (the
plan's fingerprints and schema revisions, and its fingerprint parts when the
plan has them), plus the registry and the release's tag. The digest of each
pushed manifest comes from bake's `--metadata-file` (`containerimage.digest`),
never from a second look-up that could see another push of the same tag.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class BuildError(ValueError):
    """The build or the push failed; the message names the log that has the whole story."""


@dataclass(frozen=True)
class Pushed:
    """One target's image as the registry holds it after the push."""

    target: str
    repository: str
    """`<registry>/<image>`, without tag or digest."""
    digest: str

    @property
    def uri(self) -> str:
        return f"{self.repository}@{self.digest}"


def bake_variables(plan: Mapping[str, Any], registry: str, tag: str) -> dict[str, str]:
    """The variables docker-bake.hcl reads, from the plan (as `make images` passes them)."""
    functions: Mapping[str, Any] = plan["functions"]
    variables = {
        "REGISTRY": registry.rstrip("/") + "/",
        "TAG": tag,
        "FINGERPRINTS": json.dumps({name: f["fingerprint"] for name, f in functions.items()}, sort_keys=True),
        "SCHEMA_REVISIONS": json.dumps(
            {name: f["schema_revision"] for name, f in functions.items() if f.get("schema_revision")},
            sort_keys=True,
        ),
    }
    # A plan that splits fingerprints into parts labels each image with them; the same
    # compact JSON per target that `queuefirst plan --fingerprint-parts` prints.
    parts = {
        name: json.dumps(f["parts"], sort_keys=True, separators=(",", ":"))
        for name, f in functions.items()
        if f.get("parts") is not None
    }
    if parts:
        variables["FINGERPRINT_PARTS"] = json.dumps(parts, sort_keys=True)
    return variables


def bake_command(targets: Sequence[str], metadata_file: Path | str) -> list[str]:
    return [
        "docker",
        "buildx",
        "bake",
        "--push",
        "--progress=plain",
        "--metadata-file",
        str(metadata_file),
        *targets,
    ]


def digests_from_metadata(metadata: Mapping[str, Any], targets: Sequence[str]) -> dict[str, Pushed]:
    """Each target's pushed repository and manifest digest, from bake's metadata file."""
    pushed: dict[str, Pushed] = {}
    for target in targets:
        entry = metadata.get(target)
        digest = entry.get("containerimage.digest") if isinstance(entry, Mapping) else None
        name = entry.get("image.name") if isinstance(entry, Mapping) else None
        if not digest or not name:
            raise BuildError(f"bake's metadata names no pushed image and digest for {target}")
        # image.name is `<registry>/<image>:<tag>` (comma-separated when several tags).
        first = str(name).split(",")[0]
        repository = first.rsplit(":", 1)[0] if ":" in first.rsplit("/", 1)[-1] else first
        pushed[target] = Pushed(target, repository, str(digest))
    return pushed


def build_and_push(root: Path, targets: Sequence[str], variables: Mapping[str, str]) -> dict[str, Pushed]:
    """Bake and push `targets` in the project root; their digests as the registry holds them."""
    work = Path(tempfile.mkdtemp(prefix="queuefirst-release-"))
    metadata_file = work / "bake-metadata.json"
    log = work / "bake.log"
    env = {**os.environ, "BUILDX_NO_DEFAULT_ATTESTATIONS": "1", **variables}
    try:
        with log.open("w") as stream:
            result = subprocess.run(
                bake_command(targets, metadata_file),
                cwd=root,
                env=env,
                stdout=stream,
                stderr=subprocess.STDOUT,
                check=False,
            )
    except FileNotFoundError as error:
        raise BuildError("docker is not installed here: see scripts/install-docker.sh") from error
    if result.returncode != 0:
        raise BuildError(
            f"docker buildx bake failed (exit {result.returncode}): {_last_error(log)} (whole log: {log})"
        )
    pushed = digests_from_metadata(json.loads(metadata_file.read_text()), targets)
    log.unlink(missing_ok=True)
    metadata_file.unlink(missing_ok=True)
    work.rmdir()
    return pushed


def _last_error(log: Path) -> str:
    """The line of bake's output that says what went wrong (its last ERROR line)."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR") or "error:" in line.lower()]
    return (errors or lines or ["no output"])[-1][:400]
