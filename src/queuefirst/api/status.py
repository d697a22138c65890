"""What `GET /commands/<id>` says: a command's own outcome, and that of the answer it waits for.

A command is `pending` until its worker logged it; an admitted write (an
order's item) until the child applied it, not only its parent's admission.
Then `rejected` with the reason, or `applied`; and where what it asked
answers (a product's reserve), it stays `pending` until that answer is
applied at the asking row, then reads as the answer said: `applied` with
the answer's name as `outcome` (`reserved`), or `refused` with the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from queuefirst.model.actions import REFUSED
from queuefirst.model.chains import asked
from queuefirst.model.command import ADMIT, Status
from queuefirst.model.registry import Registry

SHOWN = ("entity", "command_id", "key", "scope", "op", "version", "status", "reason", "producer")


def own_entry(entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The entry that says what became of the command: its own write's, past any admission."""
    rejected = [e for e in entries if e["status"] == Status.REJECTED]
    if rejected:
        return rejected[0]
    written = [e for e in entries if e["op"] != ADMIT]
    return written[0] if written else None


def awaited(registry: Registry, entry: dict[str, Any]) -> dict[uuid.UUID, str]:
    """The answers `entry`'s command waits for: answer id -> the asked entity and op."""
    out: dict[uuid.UUID, str] = {}
    for sent in entry.get("outbox") or []:
        target = registry.get(sent.get("entity", ""))
        if target is None or sent.get("scope", "row") != "row":
            continue
        declared = asked(target, sent.get("op", ""))
        if declared is not None and declared.answers:
            out[uuid.uuid5(uuid.UUID(sent["command_id"]), "answer")] = f"{target.name}.{sent['op']}"
    return out


def settled(
    entry: dict[str, Any], waits: dict[uuid.UUID, str], answers: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    """The status body: the entry's, then as the awaited answers say (pending while any is missing)."""
    body = {k: _shown(entry[k]) for k in SHOWN if entry.get(k) is not None}
    found = {a["command_id"]: a for a in answers if a["entity"] == entry["entity"]}
    missing = sorted(what for answer_id, what in waits.items() if answer_id not in found)
    if missing:
        return body | {"status": Status.PENDING, "waiting_for": missing}
    for answer_id in waits:
        answer = found[answer_id]
        if answer["op"] == REFUSED:
            return body | {"status": Status.REFUSED, "reason": answer.get("reason") or "refused"}
        body["outcome"] = answer["op"]
    return body


def _shown(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value
