"""The operations page's figures and scaling, locally: the dev stack's control endpoint.

`queuefirst dev` serves it on 127.0.0.1 (`queuefirst.local.stack.control`) and
hands its address and a secret to the admin function's environment; a change
applies to the running pollers and runtime pools at once.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from dataclasses import asdict
from typing import Any

from queuefirst.admin.operations import Figures, FunctionFigures, OperationsError, Scaling

TIMEOUT_SECONDS = 10


class LocalOperations:
    deployed = False

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        # Our own stack's address, from the environment `queuefirst dev` gave this function.
        request = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(detail).get("error", detail)
            raise OperationsError(f"the local stack refused: {detail}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise OperationsError(f"the local stack's control endpoint is unreachable: {error}") from None

    def figures(self) -> Figures:
        data = self._call("GET", "/functions")
        return Figures(
            functions=[FunctionFigures.from_json(f) for f in data["functions"]],
            source="the local stack (queuefirst dev)",
            window="since the stack started",
        )

    def change_scaling(self, function: str, scaling: Scaling) -> Scaling:
        data = self._call("PUT", f"/functions/{function}/scaling", asdict(scaling))
        return Scaling(**data["scaling"])
