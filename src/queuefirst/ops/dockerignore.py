"""Which build-context files a Dockerfile's build sees: its `.dockerignore`, read as BuildKit reads it.

BuildKit takes `<Dockerfile>.dockerignore` beside the Dockerfile where there is
one, else the context's `.dockerignore`. Each line is a pattern (`*` and `?`
within a path segment, `**` across segments); `!` re-includes what an earlier
pattern excluded; the last matching line wins; a pattern matching a folder
takes everything under it. `queuefirst plan` fingerprints exactly the files
the build sees, so the api's image, which ignores every entity's rules,
does not move when a rule does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class Ignore:
    rules: tuple[tuple[bool, re.Pattern[str]], ...]  # (re-include, pattern)

    def ignored(self, relative: str) -> bool:
        """Whether the build does not see this context-relative file."""
        parts = relative.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        verdict = False
        for include, pattern in self.rules:
            if any(pattern.fullmatch(prefix) for prefix in prefixes):
                verdict = not include
        return verdict


def ignore_for(root: Path, dockerfile: str) -> Ignore:
    own = root / f"{dockerfile}.dockerignore"
    found = own if own.is_file() else root / ".dockerignore"
    return _parsed(found.read_text() if found.is_file() else "")


@cache
def _parsed(text: str) -> Ignore:
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = line[1:].strip() if include else line
        rules.append((include, _regex(pattern.strip("/"))))
    return Ignore(tuple(rules))


def _regex(pattern: str) -> re.Pattern[str]:
    out = []
    for index, segment in enumerate(pattern.split("/")):
        if segment == "**":
            out.append("(?:[^/]+/)*" if index < len(pattern.split("/")) - 1 else ".*")
            continue
        piece = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in segment)
        out.append(piece + ("/" if index < len(pattern.split("/")) - 1 else ""))
    return re.compile("".join(out))
