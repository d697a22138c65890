"""What a function's image is made of, in four parts, so `queuefirst plan` can say why it moved.

- base: what the shared base image is built from (the kit's runtime, the locked dependencies);
- contracts: the entity contracts it carries (`entities/<name>/__init__.py`): every entity's
  for the api and the console, its own entity's for a worker;
- logic: its own entity's rules (everything else in `entities/<name>/`): a worker's alone;
- own: the rest of what its own Dockerfile copies (the Dockerfile, a function's own code, the
  migrations), and its entity name and schema revision.

A logic change moves one worker; a contract change (a new field) moves the api, the console
and that entity's worker; a change to the base moves every function.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

PARTS = ("base", "contracts", "logic", "own")
REASONS = {
    "base": "the shared base changed",
    "contracts": "a contract it carries changed",
    "logic": "its own logic changed",
    "own": "its own code changed",
}
_ENTITY_FILE = re.compile(r"^src/.+/entities/([a-z][a-z0-9_]*)(/.*|\.py)$")


def part_of(name: str, base_files: frozenset[str]) -> str:
    if name in base_files:
        return "base"
    match = _ENTITY_FILE.match(name)
    if match is None:
        return "own"
    rest = match.group(2)
    return "contracts" if rest in (".py", "/__init__.py") else "logic"


def digest(root: Path, files: Iterable[str], extra: str = "") -> str:
    """sha256 over the files' paths and contents (and `extra`)."""
    hashed = hashlib.sha256(f"queuefirst-fingerprint-v2\n{extra}\n".encode())
    for rel in sorted(files):
        content = hashlib.sha256((root / rel).read_bytes()).hexdigest()
        hashed.update(f"{content}  {rel}\n".encode())
    return hashed.hexdigest()


def parts(root: Path, files: Iterable[str], base_files: frozenset[str], extra: str) -> dict[str, str]:
    """Each part's digest (12 hex digits: enough to tell them apart, short enough for a label)."""
    grouped: dict[str, list[str]] = {part: [] for part in PARTS}
    for name in files:
        grouped[part_of(name, base_files)].append(name)
    return {part: digest(root, grouped[part], extra if part == "own" else "")[:12] for part in PARTS}


def reasons(now: Mapping[str, str], before: Mapping[str, str] | None) -> list[str]:
    """Why an image moved, part by part (nothing to say without the previous parts)."""
    if not before:
        return []
    return [REASONS[part] for part in PARTS if now.get(part) != before.get(part)]
