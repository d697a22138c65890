"""Least privilege, read from the synthesized IAM and key policies.

AWS itself can't run here, so policies are evaluated by a small matcher
over the synthesized statements (Allow only; the templates hold no Deny
that widens anything) with pseudo parameters filled in.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from queuefirst.model import names
from queuefirst.model.registry import Registry
from queuefirst_infra import naming
from shop import application as shop
from tests.infra.infra_helpers import Synthesized, resources

ENTITIES = shop.entity_names()
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012"}


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:eu-west-1:123456789012:{name}"


def render(value: Any, template: Mapping[str, Any]) -> str:
    """A CloudFormation value as a string: pseudo parameters filled in, own queues resolved."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return PSEUDO.get(value["Ref"], f"<ref:{value['Ref']}>")
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(render(part, template) for part in parts)
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        resource = template["Resources"].get(logical, {})
        if resource.get("Type") == "AWS::SQS::Queue" and attribute == "Arn":
            return queue_arn(resource["Properties"]["QueueName"])
        return f"<getatt:{logical}.{attribute}>"
    return f"<{sorted(value)[0] if isinstance(value, dict) else value}>"


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(template: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for policy in resources(template, "AWS::IAM::Policy").values():
        yield from policy["Properties"]["PolicyDocument"]["Statement"]


def allowed(template: Mapping[str, Any], action: str, arn: str) -> bool:
    for statement in statements(template):
        if statement["Effect"] != "Allow":
            continue
        actions = as_list(statement["Action"])
        if not any(fnmatch.fnmatchcase(action, a) for a in actions):
            continue
        for resource in as_list(statement["Resource"]):
            if fnmatch.fnmatchcase(arn, render(resource, template)):
                return True
    return False


def entity_template(synthesized: Synthesized, entity: str) -> Mapping[str, Any]:
    return synthesized.templates[naming.entity_stack_name("shop", entity)]


@pytest.mark.parametrize("entity", ENTITIES)
def test_worker_sends_only_to_its_children_and_what_it_asks(
    synthesized: Synthesized, registry: Registry, entity: str
) -> None:
    template = entity_template(synthesized, entity)
    targets = set(registry.sends_to(entity))  # its children, what it asks, and whom it answers
    for target in registry:
        arn = queue_arn(names.queue_name("shop", target))
        assert allowed(template, "sqs:SendMessage", arn) == (target in targets), (
            f"{entity} worker send to {target}: expected {target in targets}"
        )
        assert not allowed(
            template, "sqs:SendMessage", queue_arn(names.dead_letter_queue_name("shop", target))
        )


def test_customers_worker_cannot_reach_its_grandchild(synthesized: Synthesized) -> None:
    template = entity_template(synthesized, "customers")
    assert allowed(template, "sqs:SendMessage", queue_arn("shop-orders.fifo"))
    assert not allowed(template, "sqs:SendMessage", queue_arn("shop-order_items.fifo"))
    assert not allowed(template, "sqs:SendMessage", queue_arn("shop-products.fifo"))
    assert not allowed(template, "sqs:SendMessage", queue_arn("shop-customers.fifo"))


def test_an_item_asks_its_product_and_answers_its_order_and_reaches_nothing_else(
    synthesized: Synthesized,
) -> None:
    template = entity_template(synthesized, "order_items")
    assert allowed(template, "sqs:SendMessage", queue_arn("shop-products.fifo"))  # it asks
    assert allowed(template, "sqs:SendMessage", queue_arn("shop-orders.fifo"))  # it answers its admission
    assert not allowed(template, "sqs:SendMessage", queue_arn("shop-customers.fifo"))
    products = entity_template(synthesized, "products")
    assert allowed(products, "sqs:SendMessage", queue_arn("shop-order_items.fifo"))  # it answers
    assert not allowed(products, "sqs:SendMessage", queue_arn("shop-orders.fifo"))


@pytest.mark.parametrize("entity", ENTITIES)
def test_worker_consumes_only_its_own_queue(
    synthesized: Synthesized, registry: Registry, entity: str
) -> None:
    template = entity_template(synthesized, entity)
    for target in registry:
        arn = queue_arn(names.queue_name("shop", target))
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage"):
            assert allowed(template, action, arn) == (target == entity)


@pytest.mark.parametrize("entity", ENTITIES)
def test_no_wildcards_on_queues_or_actions(synthesized: Synthesized, entity: str) -> None:
    for statement in statements(entity_template(synthesized, entity)):
        actions = as_list(statement["Action"])
        assert not any(a in ("*", "sqs:*") for a in actions), statement
        if any(a.startswith("sqs:") for a in actions):
            assert "*" not in as_list(statement["Resource"]), statement


@pytest.mark.parametrize("entity", ENTITIES)
def test_worker_connects_to_the_database_as_its_own_user(synthesized: Synthesized, entity: str) -> None:
    template = entity_template(synthesized, entity)
    users = [
        render(resource, template).rsplit("/", 1)[-1]
        for statement in statements(template)
        if "rds-db:connect" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]
    assert users == [naming.worker_db_user("shop", entity)]


@pytest.mark.parametrize("entity", ENTITIES)
def test_queue_key_names_only_the_api_the_console_and_the_workers_that_send_to_it(
    synthesized: Synthesized, registry: Registry, entity: str
) -> None:
    template = entity_template(synthesized, entity)
    (key,) = resources(template, "AWS::KMS::Key").values()
    (statement,) = [
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == "SendersEncryptThroughSqs"
    ]
    assert {render(p, template) for p in as_list(statement["Principal"]["AWS"])} == {
        "arn:aws:iam::123456789012:root"
    }
    principals = {
        render(arn, template) for arn in as_list(statement["Condition"]["ArnEquals"]["aws:PrincipalArn"])
    }
    expected = {"arn:aws:iam::123456789012:role/shop-api", "arn:aws:iam::123456789012:role/shop-admin"}
    senders = registry.senders(entity)
    expected |= {f"arn:aws:iam::123456789012:role/shop-{sender}-worker" for sender in senders}
    assert principals == expected
    if entity == "products":
        assert "arn:aws:iam::123456789012:role/shop-order_items-worker" in principals


def test_api_sends_to_every_entity_queue_and_nothing_else(
    synthesized: Synthesized, registry: Registry
) -> None:
    shared = synthesized.templates[naming.shared_stack_name("shop")]
    for entity in registry:
        arn = queue_arn(names.queue_name("shop", entity))
        assert allowed(shared, "sqs:SendMessage", arn)
        assert not allowed(shared, "sqs:ReceiveMessage", arn)
        assert not allowed(shared, "sqs:DeleteMessage", arn)
        assert not allowed(shared, "sqs:PurgeQueue", arn)
    assert not allowed(shared, "sqs:SendMessage", queue_arn("shop-customers-dlq.fifo"))
    api_users = [
        render(resource, shared).rsplit("/", 1)[-1]
        for policy_id, policy in resources(shared, "AWS::IAM::Policy").items()
        if policy_id.startswith("ApiRole")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "rds-db:connect" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]
    assert api_users == [naming.api_db_user("shop")]


# -- the admin console ----------------------------------------------------------------


def admin_template(synthesized: Synthesized) -> Mapping[str, Any]:
    return synthesized.templates[naming.admin_stack_name("shop")]


def lambda_arn(function: str) -> str:
    return f"arn:aws:lambda:eu-west-1:123456789012:function:{function}"


def test_the_console_sends_commands_and_redrives_to_entity_queues_only(
    synthesized: Synthesized, registry: Registry
) -> None:
    template = admin_template(synthesized)
    for entity in registry:
        queue, dead = names.queue_name("shop", entity), names.dead_letter_queue_name("shop", entity)
        assert allowed(template, "sqs:SendMessage", queue_arn(queue))
        assert not allowed(template, "sqs:ReceiveMessage", queue_arn(queue))  # never a worker's messages
        assert not allowed(template, "sqs:DeleteMessage", queue_arn(queue))
        for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"):
            assert allowed(template, action, queue_arn(dead)), (action, dead)
        assert not allowed(template, "sqs:SendMessage", queue_arn(dead))
        assert not allowed(template, "sqs:PurgeQueue", queue_arn(dead))
    assert not allowed(template, "sqs:SendMessage", queue_arn("other-app-customers.fifo"))


def test_the_console_changes_the_scaling_of_its_own_workers_only(
    synthesized: Synthesized, registry: Registry
) -> None:
    template = admin_template(synthesized)
    for entity in registry:
        worker = lambda_arn(names.worker_function_name("shop", entity))
        for action in ("lambda:PutFunctionConcurrency", "lambda:DeleteFunctionConcurrency"):
            assert allowed(template, action, worker)
    for other in ("shop-api", "shop-admin", "shop-migrations", "other-customers-worker"):
        assert not allowed(template, "lambda:PutFunctionConcurrency", lambda_arn(other)), other
    (mapping,) = [
        s for s in statements(template) if "lambda:UpdateEventSourceMapping" in as_list(s["Action"])
    ]
    functions = [render(arn, template) for arn in mapping["Condition"]["ArnLike"]["lambda:FunctionArn"]]
    assert set(functions) == {lambda_arn(names.worker_function_name("shop", e)) for e in registry} | {
        lambda_arn(names.worker_function_name("shop", e)) + ":*" for e in registry
    }
    for statement in statements(template):
        actions = as_list(statement["Action"])
        assert not any(a.endswith(":*") or a == "*" for a in actions), statement
        assert not any(a in actions for a in ("lambda:InvokeFunction", "lambda:UpdateFunctionCode")), (
            statement
        )
        if "*" in as_list(statement["Resource"]):
            # Only what AWS grants on no resource: reading metrics, listing event sources,
            # and what every function has (X-Ray's segments, the VPC attachment's describes).
            granted = {"cloudwatch:GetMetricData", "lambda:ListEventSourceMappings"}
            every_function = {
                "xray:PutTraceSegments",
                "xray:PutTelemetryRecords",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSubnets",
            }
            assert set(actions) <= granted | every_function, statement


def test_the_console_reads_the_database_as_its_own_user(synthesized: Synthesized) -> None:
    template = admin_template(synthesized)
    users = [
        render(resource, template).rsplit("/", 1)[-1]
        for statement in statements(template)
        if "rds-db:connect" in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]
    assert users == [naming.admin_db_user("shop")]


def test_the_consoles_data_routes_exist_only_behind_an_authorizer(synthesized: Synthesized) -> None:
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in resources(admin_template(synthesized), "AWS::ApiGatewayV2::Route").values()
    }
    assert {"GET /admin", "GET /admin/{proxy+}"} <= set(routes)
    for key, route in routes.items():
        if key.startswith("ANY /admin/x"):
            assert route.get("AuthorizationType") == "JWT", key
        else:
            assert route.get("AuthorizationType", "NONE") == "NONE", key
