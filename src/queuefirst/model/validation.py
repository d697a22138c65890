"""What an id is and what text a row can hold: checked alike by every producer and every worker.

The api, the admin console and the workers all ask these functions, so what one accepts the
others accept and a command that was answered 202 can be applied:

- an id matches `ID_PATTERN` as a whole. `re.match` with `$` is not enough: `$` also matches
  before a final newline, so `ann\\n` passed there while pydantic (the api's bodies, paths and
  queries) refused it;
- text is what PostgreSQL can store, anywhere in a value: nested lists and objects, and their
  keys, included. Its `text` and `jsonb` hold no NUL, and nothing without a UTF-8 encoding (an
  unpaired surrogate) reaches it at all.
"""

from __future__ import annotations

import re
from typing import Any

# Anchored for JSON Schema and pydantic, which match a pattern against the whole value anyway.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
_ID = re.compile(ID_PATTERN)
UNSTORABLE = "text may not contain NUL characters (nor unpaired surrogates): PostgreSQL cannot store it"


def is_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def storable(text: str) -> bool:
    """Text PostgreSQL can store in a text or jsonb column."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_text(value: Any) -> str | None:
    """Where in `value` a text no row can hold sits, dotted (`tags.1`, `extra.colour`; `""` for
    `value` itself; an object's own path for one of its keys), or None where there is none."""
    found = _find(value, ())
    return None if found is None else ".".join(found)


def _find(value: Any, path: tuple[str, ...]) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return None if storable(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and not storable(key):
                return path
            found = _find(item, (*path, str(key)))
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _find(item, (*path, str(index)))
            if found is not None:
                return found
    return None
