"""The api function, with where its time goes reported in an `x-timing` response header.

Used only by bench/gateway_load.py (as QUEUEFIRST_API_HANDLER): it wraps the
reads (`Reader`) and the queue send (`CommandSender.send`) of the very api the
stack runs, and reports per request `reads=<ms>;n=<count>;send=<ms>;handler=<ms>`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from queuefirst.runtime.sender import CommandSender
from queuefirst.store.reader import Reader

_spent: dict[str, float] = {}


def _timed(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            _spent[name] = _spent.get(name, 0.0) + (time.perf_counter() - started) * 1000
            _spent[name + "_n"] = _spent.get(name + "_n", 0) + 1

    return wrapper


# The Reader methods that run SQL themselves (get and exists go through find).
for _name in ("find", "key_state", "list", "owner", "command_status", "history"):
    setattr(Reader, _name, _timed("reads", getattr(Reader, _name)))
CommandSender.send = _timed("send", CommandSender.send)  # type: ignore[method-assign]

from queuefirst.functions.api import handler as _api  # noqa: E402 - built after the wrapping


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _spent.clear()
    started = time.perf_counter()
    response = _api(event, context)
    total = (time.perf_counter() - started) * 1000
    timing = (
        f"reads={_spent.get('reads', 0.0):.3f};n={int(_spent.get('reads_n', 0))};"
        f"send={_spent.get('send', 0.0):.3f};handler={total:.3f}"
    )
    response.setdefault("headers", {})["x-timing"] = timing
    return response
