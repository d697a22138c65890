"""Per-function fingerprints of the function images, and `queuefirst plan`.

A function's fingerprint is a sha256 over exactly the files its image is built from
(the base's: the kit, the app's shared modules, the lock, the base Dockerfile; and the
function's own: its Dockerfile and its code), read from the repository tree. So a
fingerprint moves exactly when the image's content can: editing one entity's module
moves that entity's worker and the api (which carries every entity), nothing else.

The file sets here mirror images/*/Dockerfile; tests/images checks that each image
holds exactly these files.

`queuefirst plan` compares the fingerprints with a previous plan (`--against`), with
the `queuefirst.fingerprint` labels of the images in a registry (`--registry`, the
registry HTTP API v2) or in the local Docker engine (`--images`), and lists the
functions whose images would differ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from queuefirst.names import api_function_name, bake_target, worker_function_name

LABEL = "queuefirst.fingerprint"
PLAN_FORMAT = 1

# Files every image is built from, besides the kit and the app's shared modules.
BASE_BUILD_FILES = (
    ".dockerignore",
    "images/base/Dockerfile",
    "images/base/lambda-entrypoint.sh",
    "requirements/runtime.lock",
    "requirements/rie.txt",
    "scripts/extract-rie.py",
)
# Parts of the kit that images/base/Dockerfile leaves out: the development and operator
# tools (the local stack, the CLI, deploy, this planner), which no function imports.
KIT_EXCLUDED = ("local/", "cli.py", "deploy.py", "fingerprint.py")
IGNORED_PARTS = ("__pycache__",)
IGNORED_SUFFIXES = (".pyc", ".pyo")

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)
INDEX_TYPES = (
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)


@dataclass(frozen=True)
class FunctionImage:
    """One function image: its bake target, its image name and its files."""

    name: str
    """Bake target and function name: `api`, `worker-<entity>` (or `base`)."""
    image: str
    """Image repository name without registry or tag: `shop-api`, `shop-orders-worker`."""
    entity: str | None
    files: tuple[str, ...]
    """Every file the image is built from, repo-relative POSIX paths, sorted."""
    own_files: tuple[str, ...]
    """The function's own files: its Dockerfile and what its top layer holds."""


def _tree(root: Path, directory: str) -> list[str]:
    base = root / directory
    if not base.is_dir():
        return []
    out = []
    for path in base.rglob("*"):
        rel = path.relative_to(root)
        if not path.is_file() or any(part in IGNORED_PARTS for part in rel.parts):
            continue
        if path.suffix in IGNORED_SUFFIXES:
            continue
        out.append(rel.as_posix())
    return out


def _present(root: Path, paths: Iterable[str]) -> list[str]:
    return [p for p in paths if (root / p).is_file()]


def entity_names(root: Path, app: str) -> list[str]:
    """The app's entities: one module each under src/<app>/entities/."""
    directory = root / "src" / app / "entities"
    return sorted(p.stem for p in directory.glob("*.py") if p.name != "__init__.py")


def base_files(root: Path, app: str) -> list[str]:
    kit = [
        p
        for p in _tree(root, "src/queuefirst")
        if not any(p.removeprefix("src/queuefirst/").startswith(x) for x in KIT_EXCLUDED)
    ]
    shared = _present(
        root,
        [
            f"src/{app}/__init__.py",
            f"src/{app}/entities/__init__.py",
            f"src/{app}/functions/__init__.py",
        ],
    )
    return sorted({*_present(root, BASE_BUILD_FILES), *kit, *shared})


def function_images(root: Path, app: str = "shop") -> list[FunctionImage]:
    """The base, the api and one worker per entity, with their files."""
    base = base_files(root, app)
    entities_init = f"src/{app}/entities/__init__.py"
    api_own = sorted(
        {
            *_present(
                root,
                [
                    "images/api/Dockerfile",
                    f"src/{app}/registry.py",
                    f"src/{app}/functions/api.py",
                    f"src/{app}/functions/migrate.py",
                ],
            ),
            *(p for p in _tree(root, f"src/{app}/entities") if p != entities_init),
            *_tree(root, f"src/{app}/migrations"),
        }
    )
    images = [
        FunctionImage("base", f"{app}-base", None, tuple(base), ()),
        FunctionImage("api", api_function_name(app), None, tuple(sorted({*base, *api_own})), tuple(api_own)),
    ]
    for entity in entity_names(root, app):
        own = sorted(
            _present(
                root,
                [
                    "images/worker/Dockerfile",
                    f"src/{app}/entities/{entity}.py",
                    f"src/{app}/functions/worker.py",
                ],
            )
        )
        images.append(
            FunctionImage(
                bake_target(entity),
                worker_function_name(app, entity),
                entity,
                tuple(sorted({*base, *own})),
                tuple(own),
            )
        )
    return images


def fingerprint(root: Path, files: Iterable[str], extra: str = "") -> str:
    """sha256 over the files' paths and contents (and `extra`, e.g. the entity name)."""
    digest = hashlib.sha256(f"queuefirst-fingerprint-v1\n{extra}\n".encode())
    for rel in sorted(files):
        content = hashlib.sha256((root / rel).read_bytes()).hexdigest()
        digest.update(f"{content}  {rel}\n".encode())
    return digest.hexdigest()


def compute_plan(root: Path, app: str = "shop") -> dict[str, Any]:
    """The plan: every function's image name, entity, fingerprint and files."""
    functions: dict[str, Any] = {}
    for image in function_images(root, app):
        functions[image.name] = {
            "image": image.image,
            "entity": image.entity,
            "fingerprint": fingerprint(root, image.files, extra=image.entity or image.name),
            "files": list(image.files),
        }
    return {"format": PLAN_FORMAT, "app": app, "functions": functions}


def fingerprints(plan: dict[str, Any]) -> dict[str, str]:
    return {name: f["fingerprint"] for name, f in plan["functions"].items()}


# Previous fingerprints ---------------------------------------------------------------

Lookup = Callable[[str], "str | None"]
"""Maps an image name (`shop-api`) to its previous fingerprint, None when absent."""


def from_plan_file(path: Path) -> Lookup:
    previous = json.loads(path.read_text())
    by_image = {f["image"]: f.get("fingerprint") for f in previous.get("functions", {}).values()}
    return lambda image: by_image.get(image)


def from_local_images(tag: str, registry: str = "") -> Lookup:
    def lookup(image: str) -> str | None:
        result = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", f"{registry}{image}:{tag}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            return None
        labels = json.loads(result.stdout) or {}
        value = labels.get(LABEL)
        return str(value) if value else None

    return lookup


class RegistryError(RuntimeError):
    pass


@dataclass(frozen=True)
class RegistryClient:
    """Reads image labels over the registry HTTP API v2 (anonymous access)."""

    registry: str
    """`host[:port][/prefix]`; plain HTTP for localhost, HTTPS otherwise."""
    platform: str = "linux/amd64"
    timeout: float = 10

    @property
    def base_url(self) -> str:
        host = self.registry.strip("/").split("/", 1)[0]
        local = host.split(":")[0] in ("localhost", "127.0.0.1", "::1")
        return f"{'http' if local else 'https'}://{host}/v2/"

    def repository(self, image: str) -> str:
        parts = self.registry.strip("/").split("/", 1)
        return f"{parts[1]}/{image}" if len(parts) == 2 else image

    def _get(self, path: str, accept: Iterable[str] = ()) -> tuple[str, bytes] | None:
        request = urllib.request.Request(self.base_url + path)  # noqa: S310  (http(s) only)
        if accept:
            request.add_header("Accept", ", ".join(accept))
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return str(response.headers.get("Content-Type", "")), bytes(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise RegistryError(f"{request.full_url}: HTTP {error.code}") from error
        except urllib.error.URLError as error:
            raise RegistryError(f"{request.full_url}: {error.reason}") from error

    def labels(self, image: str, tag: str) -> dict[str, str] | None:
        repo = self.repository(image)
        got = self._get(f"{repo}/manifests/{tag}", (*MANIFEST_TYPES, *INDEX_TYPES))
        if got is None:
            return None
        content_type, body = got
        manifest = json.loads(body)
        if content_type in INDEX_TYPES or "manifests" in manifest:
            os_name, _, arch = self.platform.partition("/")
            entries = manifest.get("manifests", [])
            chosen = next(
                (
                    m
                    for m in entries
                    if m.get("platform", {}).get("os") == os_name
                    and m.get("platform", {}).get("architecture") == arch
                ),
                entries[0] if entries else None,
            )
            if chosen is None:
                return None
            got = self._get(f"{repo}/manifests/{chosen['digest']}", MANIFEST_TYPES)
            if got is None:
                return None
            manifest = json.loads(got[1])
        blob = self._get(f"{repo}/blobs/{manifest['config']['digest']}")
        if blob is None:
            return None
        config = json.loads(blob[1])
        labels = (config.get("config") or {}).get("Labels") or {}
        return {str(k): str(v) for k, v in labels.items()}


def from_registry(client: RegistryClient, tag: str) -> Lookup:
    def lookup(image: str) -> str | None:
        labels = client.labels(image, tag)
        return labels.get(LABEL) or None if labels else None

    return lookup


# The comparison ----------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    name: str
    image: str
    status: str
    """`changed`, `new` (nothing to compare with) or `same`."""
    fingerprint: str
    previous: str | None


def compare(plan: dict[str, Any], previous: Lookup, include_base: bool = False) -> list[Change]:
    out = []
    for name, function in plan["functions"].items():
        if name == "base" and not include_base:
            continue
        before = previous(function["image"])
        status = "new" if before is None else "same" if before == function["fingerprint"] else "changed"
        out.append(Change(name, function["image"], status, function["fingerprint"], before))
    return out


# The command -------------------------------------------------------------------------


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `plan` subcommand to a CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "plan",
        help="fingerprint each function image and list those that differ",
        description=(
            "Fingerprint every function image from the repository tree and compare with a "
            "previous plan, a registry's image labels or local images."
        ),
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="repository root")
    parser.add_argument("--app", default="shop", help="application package under src/")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--against", type=Path, metavar="PLAN.json", help="a previous plan")
    source.add_argument(
        "--registry",
        metavar="HOST[:PORT][/PREFIX]",
        help="read the queuefirst.fingerprint labels of the images in this registry",
    )
    source.add_argument("--images", action="store_true", help="read the labels of the local Docker images")
    parser.add_argument("--tag", default="dev", help="image tag to compare with (default dev)")
    parser.add_argument("--platform", default="linux/amd64")
    parser.add_argument("--write", type=Path, metavar="PLAN.json", help="write the plan here")
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--changed-only",
        action="store_true",
        help="print only the bake targets that differ (changed or new), one a line",
    )
    output.add_argument(
        "--fingerprints",
        action="store_true",
        help="print the fingerprints as JSON, for docker-bake.hcl's FINGERPRINTS variable",
    )
    output.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.set_defaults(run=run)
    return parser


def _lookup(args: argparse.Namespace) -> Lookup | None:
    if args.against is not None:
        return from_plan_file(args.against)
    if args.registry:
        return from_registry(RegistryClient(args.registry, args.platform), args.tag)
    if args.images:
        return from_local_images(args.tag)
    return None


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    root: Path = args.root
    if not (root / "src" / args.app).is_dir():
        print(f"plan: no src/{args.app} under {root.resolve()}", file=sys.stderr)
        return 2
    plan = compute_plan(root, args.app)
    if args.write is not None:
        args.write.write_text(json.dumps(plan, indent=2, sort_keys=True) + "\n")
    if args.fingerprints:
        print(json.dumps(fingerprints(plan), sort_keys=True), file=out)
        return 0
    lookup = _lookup(args)
    try:
        changes = compare(plan, lookup if lookup is not None else lambda _image: None)
    except RegistryError as error:
        print(f"plan: {error}", file=sys.stderr)
        return 1
    if args.changed_only:
        for change in changes:
            if change.status != "same":
                print(change.name, file=out)
    elif args.json:
        rows = [change.__dict__ for change in changes]
        print(json.dumps(rows, indent=2), file=out)
    else:
        for change in changes:
            print(f"{change.status:8} {change.name:24} {change.image:28} {change.fingerprint[:12]}", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="queuefirst")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
