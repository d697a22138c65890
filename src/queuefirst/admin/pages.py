"""The data pages, per entity and generated from the registry: list, detail, forms, commands.

Writes go through the api's own service (`ApiService`): the same validation,
the same courtesy checks (404, 409, the entity's own decision on the row as
it stands), the same command on the same queue, answered 202 with the
command's page, whose status the shell's script polls until the worker
applied or rejected it. The producer is `admin` with the operator's name.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from queuefirst.admin.fields import FormError, FormField, form_fields, parse_form
from queuefirst.admin.http import Request, Response
from queuefirst.admin.identity import Operator
from queuefirst.admin.render import render, view
from queuefirst.api.errors import ApiError, Invalid, NotFound
from queuefirst.api.service import Accepted, ApiService
from queuefirst.model.command import Producer, Status
from queuefirst.model.entity import Entity
from queuefirst.model.http_routes import actors
from queuefirst.model.payloads import action_body_model, create_body_model, patch_body_model
from queuefirst.model.validation import is_id

CHILDREN_SHOWN = 10
PRODUCER_KIND = "admin"


@dataclass(frozen=True)
class Form:
    """A form as a template draws it: where it posts, its fields, their values, its error."""

    action: str
    fields: tuple[FormField, ...]
    values: dict[str, Any]
    submit: str
    error: ApiError | FormError | None = None
    danger: bool = False


def validated(model: type[BaseModel], body: dict[str, Any]) -> dict[str, Any]:
    """The body checked against the api route's own model, strict as JSON is."""
    try:
        return model.model_validate_json(json.dumps(body), strict=True).model_dump(
            mode="json", exclude_unset=True
        )
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise Invalid(str(first["msg"]), field=field) from None


def checked_key(key: str) -> str:
    # The api's and the worker's check (a whole match), so no page takes an id they refuse.
    if not is_id(key):
        raise NotFound(f"{key!r} is not an id", field="id")
    return key


class DataPages:
    def __init__(self, service: ApiService, page_size: int) -> None:
        self.service = service
        self.registry = service.registry
        self.page_size = page_size

    def entity(self, name: str) -> Entity:
        if name not in self.registry:
            raise NotFound(f"no entity {name!r}", field="entity")
        return self.registry[name]

    # -- reads ----------------------------------------------------------------------------

    def home(self, request: Request, operator: Operator) -> Response:
        return Response(200, render("home.html", registry=self.registry, operator=operator))

    def list(self, request: Request, operator: Operator, entity: str) -> Response:
        declared = self.entity(entity)
        q = request.query.get("q", "").strip()[:200] or None
        if q is not None and "\x00" in q:
            raise Invalid("a search may not hold a NUL character", field="q")  # PostgreSQL text cannot
        after = request.query.get("after") or None
        parent_id = request.query.get(declared.parent_field or "", "").strip() or None
        for name, value in (("after", after), (declared.parent_field or "", parent_id)):
            if value is not None and not is_id(value):
                raise Invalid(f"{value!r} is not an id", field=name)
        with self.service.database.reading() as conn:
            page = self.service.reader.list(
                conn, declared, limit=self.page_size, after=after, parent_id=parent_id, search=q
            )
        return Response(
            200,
            render(
                "list.html", entity=declared, page=page, q=q or "", after=after, parent_id=parent_id or ""
            ),
        )

    def detail(self, request: Request, operator: Operator, entity: str, key: str) -> Response:
        declared = self.entity(entity)
        row = self.service.get(declared, checked_key(key), principal=operator.principal)
        with self.service.database.reading() as conn:
            children = {
                child: self.service.reader.list(
                    conn, self.registry[child], limit=CHILDREN_SHOWN, parent_id=key
                )
                for child in declared.children
            }
            history = self.service.reader.history(conn, declared, key)
        # An operator takes every action that has a route; internal ones are other entities' to ask.
        actions = {
            name: self._action_form(declared, key, name)
            for name, action in declared.actions.items()
            if actors(declared, action) is not None
        }
        return Response(
            200,
            render(
                "detail.html",
                entity=declared,
                registry=self.registry,
                row=row,
                children=children,
                history=history,
                actions=actions,
            ),
        )

    def command(self, request: Request, operator: Operator, command_id: str) -> Response:
        status = self._status(command_id, operator)
        return Response(200, render("command.html", status=status, back=request.query))

    def command_status(self, request: Request, operator: Operator, command_id: str) -> Response:
        status = self._status(command_id, operator)
        return Response(200, render("command_status.html", status=status, back=request.query))

    def _status(self, command_id: str, operator: Operator) -> dict[str, Any]:
        try:
            parsed = uuid.UUID(command_id)
        except ValueError:
            raise NotFound(f"{command_id!r} is not a command id", field="command_id") from None
        return self.service.command_status(parsed, principal=operator.principal)

    # -- forms ----------------------------------------------------------------------------

    def new(self, request: Request, operator: Operator, entity: str) -> Response:
        declared = self.entity(entity)
        parent = declared.parent_field
        values = {parent: request.query.get(parent, "")} if parent else {}
        return self._form_page(declared, self._create_form(declared, values), "new")

    def create(self, request: Request, operator: Operator, entity: str) -> Response:
        declared = self.entity(entity)
        form = self._create_form(declared, dict(request.form))
        try:
            body = validated(
                create_body_model(declared), parse_form(form.fields, request.form, keep_empty=False)
            )
            accepted = self.service.create(
                declared, body, self._producer(operator), principal=operator.principal
            )
        except (ApiError, FormError) as error:
            return self._form_page(declared, form, "new", error)
        return self._accepted(accepted, declared)

    def edit(self, request: Request, operator: Operator, entity: str, key: str) -> Response:
        declared = self.entity(entity)
        row = self.service.get(declared, checked_key(key), principal=operator.principal)
        return self._form_page(declared, self._edit_form(declared, key, row), "edit", row=row)

    def update(self, request: Request, operator: Operator, entity: str, key: str) -> Response:
        declared = self.entity(entity)
        row = self.service.get(declared, checked_key(key), principal=operator.principal)
        form = self._edit_form(declared, key, {**row, **request.form})
        try:
            values = parse_form(form.fields, request.form, keep_empty=True)
            changed = {name: value for name, value in values.items() if value != row.get(name)}
            if not changed:
                raise Invalid("nothing changed: edit a field first", field="body")
            body = validated(patch_body_model(declared), changed)
            accepted = self.service.update(
                declared, key, body, self._producer(operator), principal=operator.principal
            )
        except (ApiError, FormError) as error:
            return self._form_page(declared, form, "edit", error, row=row)
        return self._accepted(accepted, declared)

    def confirm_delete(self, request: Request, operator: Operator, entity: str, key: str) -> Response:
        declared = self.entity(entity)
        row = self.service.get(declared, checked_key(key), principal=operator.principal)
        return Response(
            200, render("delete.html", entity=declared, row=row, form=self._delete_form(declared, key))
        )

    def delete(self, request: Request, operator: Operator, entity: str, key: str) -> Response:
        declared = self.entity(entity)
        accepted = self.service.delete(
            declared, checked_key(key), self._producer(operator), principal=operator.principal
        )
        return self._accepted(accepted, declared)

    def act(self, request: Request, operator: Operator, entity: str, key: str, action: str) -> Response:
        declared = self.entity(entity)
        checked_key(key)
        if action not in declared.actions or actors(declared, declared.actions[action]) is None:
            raise NotFound(f"{entity} has no action {action!r}", field="action")
        form = self._action_form(declared, key, action, dict(request.form))
        try:
            payload = validated(
                action_body_model(declared.actions[action]),
                parse_form(form.fields, request.form, keep_empty=False),
            )
            accepted = self.service.act(
                declared, key, action, payload, self._producer(operator), principal=operator.principal
            )
        except (ApiError, FormError) as error:
            row = self.service.get(declared, key, principal=operator.principal)
            form = Form(form.action, form.fields, form.values, form.submit, error)
            return Response(
                getattr(error, "status", 422),
                render("action.html", entity=declared, row=row, action=declared.actions[action], form=form),
            )
        return self._accepted(accepted, declared)

    # -- helpers --------------------------------------------------------------------------

    def _producer(self, operator: Operator) -> Producer:
        return Producer(kind=PRODUCER_KIND, principal=operator.name)

    def _create_form(self, entity: Entity, values: dict[str, Any]) -> Form:
        model = create_body_model(entity)
        head = ("id", *((entity.parent_field,) if entity.parent_field else ()))
        names = (*head, *(n for n in model.model_fields if n not in head))
        fields = form_fields(model, names)
        return Form(view(entity.name), fields, values, f"Create {entity.name.replace('_', ' ')}")

    def _edit_form(self, entity: Entity, key: str, values: dict[str, Any]) -> Form:
        fields = form_fields(patch_body_model(entity), entity.updatable_fields)
        return Form(view(entity.name, key, "edit"), fields, values, "Save changes")

    def _delete_form(self, entity: Entity, key: str) -> Form:
        return Form(view(entity.name, key, "delete"), (), {}, f"Delete {key}", danger=True)

    def _action_form(
        self, entity: Entity, key: str, action: str, values: dict[str, Any] | None = None
    ) -> Form:
        fields = form_fields(entity.actions[action].input)
        return Form(
            view(entity.name, key, "actions", action),
            fields,
            values or {},
            action.replace("_", " ").capitalize(),
        )

    def _form_page(
        self,
        entity: Entity,
        form: Form,
        mode: str,
        error: ApiError | FormError | None = None,
        row: dict[str, Any] | None = None,
    ) -> Response:
        status = 200 if error is None else getattr(error, "status", 422)
        form = Form(form.action, form.fields, form.values, form.submit, error)
        return Response(status, render("form.html", entity=entity, form=form, mode=mode, row=row))

    def _accepted(self, accepted: Accepted, entity: Entity) -> Response:
        status = {"command_id": str(accepted.command_id), "status": Status.PENDING}
        back = {"entity": entity.name, "key": accepted.id}
        path = view("commands", str(accepted.command_id), **back)
        return Response(202, render("command.html", status=status, back=back), headers={"X-Admin-Path": path})
