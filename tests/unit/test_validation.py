"""The one validation every producer and every worker runs (issue 17): ids matched whole, text
PostgreSQL can store anywhere in a payload, the principal's claims checked where they are read.

The worker's side goes through `decode`, the function that turns a message into a command.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from queuefirst.model.command import Command
from queuefirst.model.entity import Entity
from queuefirst.model.payloads import IdField, PayloadError, validate_payload
from queuefirst.model.principal import (
    OPERATORS,
    USERS,
    MisissuedClaim,
    NotAuthenticated,
    UnusableClaim,
    principal_from_claims,
)
from queuefirst.model.registry import Registry
from queuefirst.model.validation import is_id, unstorable_text
from queuefirst.worker.decode import Malformed, decode

NOT_IDS = ["ann\n", "ann\n\n", "a b", "../x", "a/b", "", "-ann", "x" * 129, "ann\x00"]


class Tagged(BaseModel):
    tags: list[str] = []
    extra: dict[str, Any] = {}


tagged = Entity(name="tagged", fields=Tagged)


def message(entity: str, op: str, key: str, payload: dict[str, Any], **extra: Any) -> str:
    return Command(
        command_id=uuid.uuid4(), entity=entity, op=op, key=key, version=1, payload=payload, **extra
    ).to_json()


@pytest.mark.parametrize("value", NOT_IDS)
def test_an_id_is_matched_whole_by_the_kit_and_by_pydantic(value: str) -> None:
    assert not is_id(value)
    # The api's bodies, paths and queries check ids with pydantic: its pattern must agree.
    with pytest.raises(ValidationError):
        TypeAdapter(IdField).validate_python(value)


def test_ids_that_are_ids() -> None:
    assert all(is_id(v) for v in ("ann", "a:b", "0192f1e2-7c1d", "x" * 128, "A.b_c-d"))


@pytest.mark.parametrize("key", ["ann\n", "a b", "../x"])
def test_the_worker_refuses_a_create_whose_key_is_not_an_id(shop: Registry, key: str) -> None:
    body = message("customers", "create", key, {"email": "a@b.c", "name": "A"})
    with pytest.raises(Malformed, match="invalid id"):
        decode(shop["customers"], body)


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        ({"tags": ["a", "b\x00"]}, "tags.1"),
        ({"extra": {"deep": [{"x": "\x00"}]}}, "extra.deep.0.x"),
        ({"extra": {"k\x00": 1}}, "extra"),
    ],
)
def test_the_worker_refuses_nul_anywhere_naming_where(payload: dict[str, Any], where: str) -> None:
    with pytest.raises(Malformed, match=f"invalid payload: {where}: text may not contain NUL"):
        decode(tagged, message("tagged", "create", "t1", payload))


def test_the_api_and_the_worker_refuse_the_same_payloads_the_same_way(shop: Registry) -> None:
    """One function: the api's 422 and the worker's dead-letter reason name the same field."""
    payload = {"reason": "fraud\x00"}
    with pytest.raises(PayloadError) as refused:
        validate_payload(shop["customers"], "suspend", payload)
    assert refused.value.field == "reason"
    with pytest.raises(Malformed, match="invalid payload: reason: text may not contain NUL"):
        decode(shop["customers"], message("customers", "suspend", "c1", payload))


def test_text_postgresql_cannot_store() -> None:
    assert unstorable_text({"a": ["ok", {"b": "ok"}], "n": 1, "z": None}) is None
    assert unstorable_text("\ud800") == ""  # a lone surrogate: no UTF-8 for it
    assert unstorable_text({"a": [1, "x\x00"]}) == "a.1"


def claims(**values: str) -> dict[str, str]:
    return {"sub": "ann", "username": "ann", **values}


@pytest.mark.parametrize("subject", ["a b", "../x", "a/b", "ann\n", "auth0|123"])
def test_a_subject_that_is_no_id_is_a_principal_that_cannot_own_a_row(subject: str) -> None:
    principal = principal_from_claims(USERS, claims(sub=subject))
    assert principal.subject == subject  # it may still read what everyone reads
    with pytest.raises(UnusableClaim) as refused:
        principal.own_id()
    assert refused.value.claim == "sub"
    assert principal_from_claims(USERS, claims()).own_id() == "ann"


@pytest.mark.parametrize("claim", ["sub", "username"])
@pytest.mark.parametrize("kind", [USERS, OPERATORS])
def test_a_claim_no_row_could_record_is_the_issuers_fault(kind: str, claim: str) -> None:
    with pytest.raises(MisissuedClaim) as refused:
        principal_from_claims(kind, claims(**{claim: "ann\x00"}))
    assert refused.value.claim == claim
    with pytest.raises(NotAuthenticated):  # no subject at all: no principal, as before
        principal_from_claims(kind, {"username": "ann"})
