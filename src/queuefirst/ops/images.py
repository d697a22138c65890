"""What each function image is built from, read from its Dockerfile.

The Dockerfiles are the one description of what an image holds: their COPY
instructions name the files and folders taken from the build context. This
module reads those instructions, with the build arguments bake gives each
target, so `queuefirst plan` fingerprints exactly what `docker buildx bake`
copies and the two cannot disagree. Dockerfiles copy whole folders and never
delete what they copied; a COPY from another stage (`--from`) adds nothing
from the context.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from queuefirst.model.application import Application
from queuefirst.model.names import admin_function_name, api_function_name, bake_target, worker_function_name
from queuefirst.ops.dockerignore import ignore_for

# Files every image depends on besides what its Dockerfiles copy: the context's
# filter and the bake file's shared settings (labels, build arguments).
BUILD_FILES = (".dockerignore", "docker-bake.hcl")
IGNORED_PARTS = ("__pycache__",)
IGNORED_SUFFIXES = (".pyc", ".pyo")
_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)")


class ImagesError(RuntimeError):
    """A Dockerfile names something the build context does not hold."""


@dataclass(frozen=True)
class ImageTarget:
    """One bake target: its Dockerfile, its build arguments, its image name."""

    name: str
    """Bake target: `base`, `api`, `admin`, `worker-<entity>`."""
    image: str
    """Image repository (and function) name without registry or tag: `<app>-api`."""
    dockerfile: str
    args: Mapping[str, str] = field(default_factory=dict)
    entity: str | None = None


def image_targets(app: Application, entities: list[str]) -> list[ImageTarget]:
    """The base, the api, the admin console and one worker per entity."""
    common = {"APP": app.name, "PACKAGE": app.package}
    targets = [
        ImageTarget("base", f"{app.name}-base", "images/base/Dockerfile", common),
        ImageTarget("api", api_function_name(app.name), "images/api/Dockerfile", common),
        ImageTarget("admin", admin_function_name(app.name), "images/admin/Dockerfile", common),
    ]
    targets += [
        ImageTarget(
            bake_target(entity),
            worker_function_name(app.name, entity),
            "images/worker/Dockerfile",
            {**common, "ENTITY": entity},
            entity,
        )
        for entity in entities
    ]
    return targets


def image_files(root: Path, target: ImageTarget) -> list[str]:
    """Every context file `target`'s image is built from: its own, and the base's."""
    own = set(copied_files(root, target.dockerfile, target.args)) | {target.dockerfile}
    if (root / f"{target.dockerfile}.dockerignore").is_file():
        own.add(f"{target.dockerfile}.dockerignore")
    if target.name != "base":
        own |= set(copied_files(root, "images/base/Dockerfile", target.args))
        own.add("images/base/Dockerfile")
    own |= {name for name in BUILD_FILES if (root / name).is_file()}
    return sorted(own)


def own_files(root: Path, target: ImageTarget) -> list[str]:
    """What the target's own Dockerfile copies (its top layer), without the base."""
    return sorted(copied_files(root, target.dockerfile, target.args))


def copied_files(root: Path, dockerfile: str, args: Mapping[str, str]) -> list[str]:
    """Context files the Dockerfile's COPY and ADD instructions take, repo-relative."""
    path = root / dockerfile
    if not path.is_file():
        raise ImagesError(f"no Dockerfile {dockerfile} under {root}")
    values = dict(args)
    files: set[str] = set()
    for instruction, rest in _instructions(path.read_text()):
        if instruction == "ARG":
            name, _, default = rest.partition("=")
            values.setdefault(name.strip(), _unquote(default.strip()))
        elif instruction in ("COPY", "ADD"):
            words = _words(rest)
            flags = [w for w in words if w.startswith("--")]
            if any(flag.startswith("--from=") for flag in flags):
                continue
            sources = [w for w in words if not w.startswith("--")][:-1]
            for source in sources:
                files |= _expand(root, _substitute(source, values), dockerfile)
    ignore = ignore_for(root, dockerfile)
    return sorted(name for name in files if not ignore.ignored(name))


def _instructions(text: str) -> Iterator[tuple[str, str]]:
    logical = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not logical and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        instruction, _, rest = logical.partition(" ")
        yield instruction.upper(), rest.strip()
        logical = ""


def _words(rest: str) -> list[str]:
    if rest.startswith("["):
        return [str(word) for word in json.loads(rest)]
    if "<<" in rest:
        raise ImagesError("COPY with a here-document cannot be fingerprinted; copy a file instead")
    return rest.split()


def _unquote(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'" else value


def _substitute(word: str, values: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        value = values.get(name, "")
        return value or (match.group(2) or "")

    return _VARIABLE.sub(replace, word)


def _expand(root: Path, source: str, dockerfile: str) -> set[str]:
    matches = sorted(root.glob(source)) if any(c in source for c in "*?[") else [root / source]
    found: set[str] = set()
    for match in matches:
        if match.is_dir():
            found |= {_relative(root, p) for p in match.rglob("*") if p.is_file() and _kept(root, p)}
        elif match.is_file():
            if _kept(root, match):
                found.add(_relative(root, match))
        else:
            raise ImagesError(f"{dockerfile}: COPY {source}: no such file or folder in the build context")
    return found


def _kept(root: Path, path: Path) -> bool:
    parts = path.relative_to(root).parts
    return not any(part in IGNORED_PARTS for part in parts) and path.suffix not in IGNORED_SUFFIXES


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()
