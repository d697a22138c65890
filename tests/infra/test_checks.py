"""Synth refuses settings AWS would refuse, and a connection budget that does not fit.

AWS itself can't run here; these checks run before any stack is defined,
so a failing synth costs no CloudFormation round trip.
"""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from pydantic import BaseModel

from queuefirst.model.entity import Entity, Scaling
from queuefirst.model.registry import Registry
from queuefirst_infra.budget import check_connection_budget, demands, proxy_budget
from queuefirst_infra.build import build
from queuefirst_infra.config import InfraConfig
from queuefirst_infra.errors import InfraConfigError
from tests.infra.infra_helpers import application_of


class Fields(BaseModel):
    name: str


def one_entity(scaling: Scaling, name: str = "widgets") -> Registry:
    return Registry("shop", [Entity(name=name, fields=Fields, scaling=scaling)])


def synth_fails(registry: Registry, config: InfraConfig | None = None) -> str:
    app = cdk.App()
    with pytest.raises(InfraConfigError) as caught:
        build(app, application_of(registry), config or InfraConfig(), registry=registry)
    assert app.node.children == [], "stacks were defined before the check failed"
    return str(caught.value)


@pytest.mark.parametrize(
    ("scaling", "setting"),
    [
        (Scaling(timeout_seconds=901), "scaling.timeout_seconds=901"),
        (Scaling(batch_size=11), "scaling.batch_size=11"),
        (Scaling(batch_size=0), "scaling.batch_size=0"),
        (Scaling(maximum_concurrency=1), "scaling.maximum_concurrency=1"),
        (Scaling(maximum_concurrency=1001), "scaling.maximum_concurrency=1001"),
        (Scaling(memory_mb=64), "scaling.memory_mb=64"),
        (Scaling(memory_mb=10_241), "scaling.memory_mb=10241"),
        (Scaling(reserved_concurrency=1, maximum_concurrency=2), "scaling.reserved_concurrency=1"),
        (Scaling(max_receive_count=0), "scaling.max_receive_count=0"),
        (Scaling(max_receive_count=4), "scaling.max_receive_count=4"),
    ],
)
def test_bad_registry_setting_fails_synth_naming_entity_and_setting(scaling: Scaling, setting: str) -> None:
    message = synth_fails(one_entity(scaling))
    assert f"widgets: {setting}" in message


def test_every_problem_is_reported_at_once() -> None:
    registry = Registry(
        "shop",
        [
            Entity(name="widgets", fields=Fields, scaling=Scaling(timeout_seconds=1000)),
            Entity(name="gadgets", fields=Fields, scaling=Scaling(memory_mb=20_000)),
        ],
    )
    message = synth_fails(registry)
    assert "widgets: scaling.timeout_seconds=1000" in message
    assert "gadgets: scaling.memory_mb=20000" in message


def test_a_receive_count_below_five_is_refused_with_awss_reason() -> None:
    message = synth_fails(one_entity(Scaling(max_receive_count=1)))
    assert "AWS advises at least 5 for a Lambda event source" in message


def test_connection_budget_exceeded_fails_synth_with_the_numbers(registry: Registry) -> None:
    config = InfraConfig(db_max_connections=100, proxy_max_connections_percent=20)
    needed = sum(d.connections for d in demands(registry, config))
    assert needed > proxy_budget(config) == 20
    message = synth_fails(registry, config)
    assert f"need {needed} connections" in message
    assert "proxy allows 20" in message
    assert "db_max_connections 100" in message
    assert "proxy_max_connections_percent 20%" in message
    assert "shop-api 20x1" in message
    assert "shop-orders-worker 4x1" in message


def test_connection_budget_counts_the_pool_size(registry: Registry) -> None:
    fits = InfraConfig()
    check_connection_budget(registry, fits)
    total = sum(d.connections for d in demands(registry, fits))
    bigger_pools = InfraConfig(db_pool_size=(proxy_budget(fits) // total) + 1)
    with pytest.raises(InfraConfigError, match="connection budget exceeded"):
        check_connection_budget(registry, bigger_pools)


def test_context_values_are_checked() -> None:
    with pytest.raises(InfraConfigError, match="db_min_acu"):
        InfraConfig.from_context({"db_min_acu": "8", "db_max_acu": "2"}.get)
    with pytest.raises(InfraConfigError, match="api_reserved_concurrency"):
        InfraConfig.from_context({"api_reserved_concurrency": "many"}.get)
