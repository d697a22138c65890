"""The operations page: each function's figures and scaling, each entity's dead letters.

Dead letters are read and moved with the same code as `queuefirst dlq`
(`queuefirst.runtime.dead_letters`), locally and deployed alike; figures and
scaling come from the `Operations` the function was built with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from queuefirst.admin.fields import FormError
from queuefirst.admin.http import Request, Response
from queuefirst.admin.identity import Operator
from queuefirst.admin.operations import Operations, OperationsError, Scaling, check_scaling
from queuefirst.admin.render import render
from queuefirst.api.errors import Invalid, NotFound
from queuefirst.model.names import worker_function_name
from queuefirst.model.registry import Registry
from queuefirst.runtime.dead_letters import DeadLetters

LETTERS_SHOWN = 50


class OperationsPages:
    def __init__(
        self,
        registry: Registry,
        operations: Callable[[], Operations],
        dead_letters: Callable[[], DeadLetters],
    ) -> None:
        self.registry = registry
        # Made on first use: boto3 and its clients cost a cold start nothing until then.
        self._operations = operations
        self._dead_letters = dead_letters

    def page(
        self, request: Request, operator: Operator, notice: str | None = None, status: int = 200
    ) -> Response:
        operations = self._operations()
        error: str | None = None
        figures = None
        try:
            figures = operations.figures()
        except OperationsError as failure:
            error = str(failure)
        letters: dict[str, list[dict[str, Any]]] = {}
        unreadable: dict[str, str] = {}
        dead = self._dead_letters()
        for entity in self.registry:
            try:
                letters[entity] = [letter.summary() for letter in dead.peek(entity, LETTERS_SHOWN)]
            except Exception as failure:  # one queue that cannot be read does not hide the rest
                unreadable[entity] = f"{type(failure).__name__}: {failure}"
        return Response(
            status,
            render(
                "operations.html",
                figures=figures,
                error=error,
                letters=letters,
                unreadable=unreadable,
                deployed=operations.deployed,
                notice=notice,
                registry=self.registry,
            ),
        )

    def scale(self, request: Request, operator: Operator, function: str) -> Response:
        workers = {worker_function_name(self.registry.app, e): e for e in self.registry}
        if function not in workers:
            raise NotFound(f"no worker function {function!r}", field="function")
        try:
            scaling = _scaling(request.form)
            problem = check_scaling(scaling)
            if problem:
                field, _, message = problem.partition(": ")
                raise FormError(field, message)
            applied = self._operations().change_scaling(function, scaling)
        except FormError as error:
            return self.page(request, operator, f"Not changed: {error.field}: {error.message}", 422)
        except OperationsError as error:
            return self.page(request, operator, f"Not changed: {error}", 502)
        reserved = "unreserved" if applied.reserved_concurrency is None else applied.reserved_concurrency
        notice = (
            f"{function}: batch size {applied.batch_size}, maximum concurrency "
            f"{applied.maximum_concurrency}, reserved concurrency {reserved}."
        )
        return self.page(request, operator, notice)

    def redrive(self, request: Request, operator: Operator, entity: str) -> Response:
        self._entity(entity)
        message_id = request.form.get("message_id") or None
        moved = self._dead_letters().redrive(entity, [message_id] if message_id else None)
        if message_id and not moved:
            return self.page(request, operator, f"{message_id} is no longer in {entity}'s dead letters.", 404)
        return self.page(request, operator, f"Redrove {len(moved)} message(s) to {entity}'s queue.")

    def confirm_discard(self, request: Request, operator: Operator, entity: str) -> Response:
        self._entity(entity)
        message_id = request.query.get("message_id", "")
        if not message_id:
            raise Invalid("name the dead letter to discard", field="message_id")
        found = [m for m in self._dead_letters().peek(entity) if m.message_id == message_id]
        if not found:
            raise NotFound(f"{message_id} is not among {entity}'s dead letters", field="message_id")
        return Response(200, render("discard.html", entity=entity, letter=found[0].summary()))

    def discard(self, request: Request, operator: Operator, entity: str) -> Response:
        self._entity(entity)
        message_id = request.form.get("message_id", "")
        if not message_id:
            raise Invalid("name the dead letter to discard", field="message_id")
        if request.form.get("confirm") != "yes":
            raise Invalid("confirm the discard: it cannot be undone", field="confirm")
        gone = self._dead_letters().discard(entity, [message_id])
        if not gone:
            return self.page(request, operator, f"{message_id} is no longer in {entity}'s dead letters.", 404)
        return self.page(request, operator, f"Discarded {message_id} from {entity}'s dead letters.")

    def _entity(self, entity: str) -> None:
        if entity not in self.registry:
            raise NotFound(f"no entity {entity!r}", field="entity")


def _scaling(form: dict[str, str]) -> Scaling:
    def number(name: str, *, optional: bool = False) -> int | None:
        text = form.get(name, "").strip()
        if not text and optional:
            return None
        try:
            return int(text)
        except ValueError:
            raise FormError(name, f"{text!r} is not a whole number") from None

    batch, maximum = number("batch_size"), number("maximum_concurrency")
    assert batch is not None and maximum is not None
    return Scaling(batch, maximum, number("reserved_concurrency", optional=True))
