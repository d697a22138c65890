"""The synthesized stacks carry the registry's values, entity by entity.

AWS itself can't run here, so the CDK app is synthesized (once per session)
and its CloudFormation templates are inspected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from queuefirst.model import names
from queuefirst.model.registry import Registry
from queuefirst_infra import naming
from queuefirst_infra.monitoring import oldest_message_threshold
from shop import application as shop
from tests.infra.infra_helpers import Synthesized, resources

ENTITIES = shop.entity_names()


def test_one_stack_per_entity_plus_registry_shared_and_admin(
    synthesized: Synthesized, registry: Registry
) -> None:
    expected = {
        naming.registry_stack_name("shop"),
        naming.shared_stack_name("shop"),
        naming.admin_stack_name("shop"),
    }
    expected |= {naming.entity_stack_name("shop", e) for e in registry}
    assert set(synthesized.templates) == expected


@pytest.mark.parametrize("entity", ENTITIES)
def test_entity_queue_dlq_worker_and_event_source(
    synthesized: Synthesized, registry: Registry, entity: str
) -> None:
    scaling = registry[entity].scaling
    tpl = synthesized.template(naming.entity_stack_name("shop", entity))
    dlq = names.dead_letter_queue_name("shop", entity)
    tpl.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": dlq,
            "FifoQueue": True,
            "MessageRetentionPeriod": 14 * 24 * 3600,
            "KmsMasterKeyId": Match.any_value(),
        },
    )
    tpl.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": names.queue_name("shop", entity),
            "FifoQueue": True,
            "ContentBasedDeduplication": False,
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
            "VisibilityTimeout": scaling.visibility_timeout_seconds,
            "KmsMasterKeyId": Match.any_value(),
            "RedrivePolicy": {
                "deadLetterTargetArn": Match.any_value(),
                "maxReceiveCount": scaling.max_receive_count,
            },
        },
    )
    tpl.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    function_props: dict[str, Any] = {
        "FunctionName": names.worker_function_name("shop", entity),
        "PackageType": "Image",
        "MemorySize": scaling.memory_mb,
        "Timeout": scaling.timeout_seconds,
        "ImageConfig": {"Command": ["queuefirst.functions.worker.handler"]},
        "Environment": {"Variables": Match.object_like({"QUEUEFIRST_ENTITY": entity})},
        "VpcConfig": Match.any_value(),
    }
    if scaling.reserved_concurrency is not None:
        function_props["ReservedConcurrentExecutions"] = scaling.reserved_concurrency
    tpl.has_resource_properties("AWS::Lambda::Function", function_props)
    tpl.has_resource_properties("AWS::Lambda::Alias", {"Name": "live"})
    mapping: dict[str, Any] = {
        "BatchSize": scaling.batch_size,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": scaling.maximum_concurrency},
        # The event source feeds the `live` alias, so rollouts move traffic.
        "FunctionName": Match.object_like({"Fn::Join": ["", Match.array_with([":live"])]}),
    }
    tpl.has_resource_properties("AWS::Lambda::EventSourceMapping", mapping)
    (source,) = resources(
        synthesized.templates[naming.entity_stack_name("shop", entity)], "AWS::Lambda::EventSourceMapping"
    ).values()
    assert "MaximumBatchingWindowInSeconds" not in source["Properties"]  # FIFO allows none
    tpl.resource_count_is("AWS::Lambda::EventSourceMapping", 1)
    tpl.resource_count_is("AWS::CloudWatch::Dashboard", 1)


@pytest.mark.parametrize("entity", ENTITIES)
def test_entity_alarms(synthesized: Synthesized, registry: Registry, entity: str) -> None:
    scaling = registry[entity].scaling
    function = names.worker_function_name("shop", entity)
    tpl = synthesized.template(naming.entity_stack_name("shop", entity))
    dlq = names.dead_letter_queue_name("shop", entity)
    queue = names.queue_name("shop", entity)
    tpl.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Namespace": "AWS/SQS",
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "Dimensions": [{"Name": "QueueName", "Value": Match.any_value()}],
            "AlarmName": f"{dlq}-visible",
        },
    )
    tpl.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateAgeOfOldestMessage",
            "AlarmName": f"{queue}-oldest-message",
            "Threshold": oldest_message_threshold(scaling),
        },
    )
    tpl.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "Throttles",
            "Namespace": "AWS/Lambda",
            "AlarmName": naming.throttle_alarm_name(function),
            "Dimensions": [{"Name": "FunctionName", "Value": Match.any_value()}],
        },
    )
    # The canary's alarm: Lambda errors plus the records the worker reported
    # failed (partial batch failures are not Lambda errors).
    template = synthesized.templates[naming.entity_stack_name("shop", entity)]
    alarms = [a["Properties"] for a in resources(template, "AWS::CloudWatch::Alarm").values()]
    (errors,) = [a for a in alarms if a["AlarmName"] == naming.error_alarm_name(function)]
    stats = {q["Id"]: q["MetricStat"]["Metric"] for q in errors["Metrics"] if "MetricStat" in q}
    assert stats["errors"]["MetricName"] == "Errors" and stats["errors"]["Namespace"] == "AWS/Lambda"
    assert stats["failed"]["MetricName"] == "CommandsFailed"
    assert stats["failed"]["Namespace"] == "queuefirst"
    assert {d["Name"]: d["Value"] for d in stats["failed"]["Dimensions"]} == {
        "service": function,
        "function": function,
    }
    assert any(q.get("Expression") == "errors + FILL(failed, 0)" for q in errors["Metrics"])


def test_images_come_from_each_functions_repository_by_digest(
    synthesized: Synthesized, registry: Registry
) -> None:
    for entity in registry:
        tpl = synthesized.templates[naming.entity_stack_name("shop", entity)]
        # Ours is the image function (the other is CDK's trigger provider).
        (function,) = [
            f for f in resources(tpl, "AWS::Lambda::Function").values() if "ImageConfig" in f["Properties"]
        ]
        joined = function["Properties"]["Code"]["ImageUri"]["Fn::Join"][1][-1]
        assert joined == f"/shop-{entity}-worker@sha256:{'1' * 64}"


def test_registry_stack_repositories(synthesized: Synthesized, registry: Registry) -> None:
    tpl = synthesized.template(naming.registry_stack_name("shop"))
    expected = ["shop-api", "shop-admin"] + [f"shop-{e}-worker" for e in registry]
    tpl.resource_count_is("AWS::ECR::Repository", len(expected))
    for name in expected:
        tpl.has_resource_properties(
            "AWS::ECR::Repository",
            {
                "RepositoryName": name,
                "ImageTagMutability": "IMMUTABLE",
                "ImageScanningConfiguration": {"ScanOnPush": True},
                "LifecyclePolicy": Match.any_value(),
            },
        )


def test_shared_stack_network_database_api(synthesized: Synthesized) -> None:
    shared = synthesized.templates[naming.shared_stack_name("shop")]
    tpl = synthesized.template(naming.shared_stack_name("shop"))
    tpl.resource_count_is("AWS::EC2::NatGateway", 0)
    tpl.resource_count_is("AWS::EC2::InternetGateway", 0)
    endpoints = [e["Properties"]["ServiceName"] for e in resources(shared, "AWS::EC2::VPCEndpoint").values()]
    rendered = str(endpoints)
    for service in ("sqs", "secretsmanager", "ecr.api", "ecr.dkr", "logs", "s3"):
        assert f".{service}" in rendered, f"no VPC endpoint for {service}: {rendered}"
    tpl.has_resource_properties(
        "AWS::RDS::DBCluster",
        {
            "Engine": "aurora-postgresql",
            "EngineVersion": Match.string_like_regexp(r"^16\."),
            "ServerlessV2ScalingConfiguration": {"MinCapacity": 0.5, "MaxCapacity": 4},
            "StorageEncrypted": True,
            "EnableIAMDatabaseAuthentication": True,
        },
    )
    tpl.has_resource_properties(
        "AWS::RDS::DBProxy",
        {"RequireTLS": True, "DefaultAuthScheme": "IAM_AUTH", "EngineFamily": "POSTGRESQL"},
    )
    tpl.has_resource_properties(
        "AWS::RDS::DBProxyTargetGroup",
        {"ConnectionPoolConfigurationInfo": Match.object_like({"MaxConnectionsPercent": 50})},
    )
    tpl.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": "shop-api",
            "ReservedConcurrentExecutions": 20,
            "ImageConfig": {"Command": ["queuefirst.functions.api.handler"]},
        },
    )
    tpl.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": "shop-migrations",
            "ImageConfig": {"Command": ["queuefirst.schema.function.handler"]},
            "Code": {
                "ImageUri": Match.object_like(
                    {"Fn::Join": ["", Match.array_with([Match.string_like_regexp(r"/shop-api@sha256:")])]}
                )
            },
        },
    )
    tpl.has_resource_properties("AWS::ApiGatewayV2::Api", {"ProtocolType": "HTTP"})
    tpl.has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "$default",
            "DefaultRouteSettings": {"ThrottlingRateLimit": 200, "ThrottlingBurstLimit": 400},
        },
    )
    # The integration calls the api's `live` alias.
    integrations = resources(shared, "AWS::ApiGatewayV2::Integration")
    (integration,) = integrations.values()
    (alias_id,) = [k for k, v in resources(shared, "AWS::Lambda::Alias").items() if "Api" in k]
    assert integration["Properties"]["IntegrationUri"] == {"Ref": alias_id}
    # Migrations run on deploy through a CDK trigger.
    tpl.resource_count_is("Custom::Trigger", 1)


def test_context_settings_reach_the_templates(
    registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.infra.infra_helpers import images_for, synthesize

    out = synthesize(
        registry,
        tmp_path_factory.mktemp("cdk.ctx"),
        {
            "images": images_for(registry),
            "db_min_acu": "1",
            "db_max_acu": "8",
            "db_max_connections": "1000",
            "api_reserved_concurrency": "50",
        },
    )
    tpl = out.template(naming.shared_stack_name("shop"))
    tpl.has_resource_properties(
        "AWS::RDS::DBCluster", {"ServerlessV2ScalingConfiguration": {"MinCapacity": 1, "MaxCapacity": 8}}
    )
    tpl.has_resource_properties(
        "AWS::Lambda::Function", {"FunctionName": "shop-api", "ReservedConcurrentExecutions": 50}
    )


def test_cdk_entry_point_synthesizes_every_stack_from_the_release_record(tmp_path: Path) -> None:
    """`cdk synth` runs infra/app.py with CDK_OUTDIR and CDK_CONTEXT_JSON set; without an
    `images` context the app reads the release record (here through QUEUEFIRST_RECORD)."""
    infra = Path(__file__).resolve().parents[2] / "infra"
    record = infra / "images.example.json"
    env = {
        **os.environ,
        "CDK_OUTDIR": str(tmp_path),
        "CDK_CONTEXT_JSON": json.dumps({}),
        "QUEUEFIRST_RECORD": str(record),
    }
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=infra, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    produced = sorted(p.name for p in tmp_path.glob("*.template.json"))
    assert produced == sorted(
        f"{n}.template.json"
        for n in [
            "shop-registry",
            "shop-shared",
            "shop-admin",
            "shop-customers",
            "shop-products",
            "shop-orders",
            "shop-order-items",
        ]
    )
    digest = json.loads(record.read_text())["shop-orders-worker"]["image"].split("@")[1]
    assert digest in (tmp_path / "shop-orders.template.json").read_text()
