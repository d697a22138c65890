"""The infra's half of safe rollouts: alarms reach a person, a new version meets its
schema before its alias moves, X-Ray on every function, TLS verified to the proxy.

AWS itself can't run here, so the CDK app is synthesized and its CloudFormation
templates are inspected (cfn-lint and checkov run over them in test_lint.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from queuefirst.model.limits import DLQ_RETENTION_SECONDS
from queuefirst.model.registry import Registry
from queuefirst_infra import naming
from queuefirst_infra.config import InfraConfig
from queuefirst_infra.database import PROXY_CA_FILE
from queuefirst_infra.errors import InfraConfigError
from tests.infra.infra_helpers import Synthesized, images_for, resources, synthesize

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def subscribed(registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = {"images": images_for(registry), "alarm_email": "ops@example.com, oncall@example.org"}
    return synthesize(registry, tmp_path_factory.mktemp("cdk.alarms"), context)


def topic_arn_named(action: Any) -> bool:
    """The alarm topic, by reference (shared stack) or by its formatted ARN (entity stacks)."""
    text = str(action)
    return ":shop-alarms" in text or "AlarmsTopic" in text


def test_one_encrypted_alarm_topic_per_application_with_the_email_subscriptions(
    subscribed: Synthesized, synthesized: Synthesized
) -> None:
    shared = subscribed.template(naming.shared_stack_name("shop"))
    shared.resource_count_is("AWS::SNS::Topic", 1)
    shared.has_resource_properties(
        "AWS::SNS::Topic", {"TopicName": naming.alarm_topic_name("shop"), "KmsMasterKeyId": Match.any_value()}
    )
    emails = sorted(
        s["Properties"]["Endpoint"]
        for s in resources(subscribed.templates["shop-shared"], "AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "email"
    )
    assert emails == ["oncall@example.org", "ops@example.com"]
    # The topic's key lets CloudWatch publish (AWS's own SNS key would not).
    keys = resources(subscribed.templates["shop-shared"], "AWS::KMS::Key").values()
    assert any(
        st.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
        for key in keys
        for st in key["Properties"]["KeyPolicy"]["Statement"]
    )
    # No address given: the topic still exists (subscribe later), with nobody on it.
    assert resources(synthesized.templates["shop-shared"], "AWS::SNS::Subscription") == {}
    assert len(resources(synthesized.templates["shop-shared"], "AWS::SNS::Topic")) == 1


def test_every_alarm_notifies_the_topic_when_it_fires_and_clears(synthesized: Synthesized) -> None:
    counted = 0
    for name, template in synthesized.templates.items():
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
            props = alarm["Properties"]
            assert [topic_arn_named(a) for a in props.get("AlarmActions", [])] == [True], (name, props)
            assert [topic_arn_named(a) for a in props.get("OKActions", [])] == [True], (name, props)
            counted += 1
    assert counted >= 2 + 6 * 4  # the api's two, six per entity


def test_dead_letters_alarm_on_each_arrival_and_before_they_expire(
    synthesized: Synthesized, registry: Registry
) -> None:
    for entity in registry:
        template = synthesized.templates[naming.entity_stack_name("shop", entity)]
        alarms = {
            a["Properties"]["AlarmName"]: a["Properties"]
            for a in resources(template, "AWS::CloudWatch::Alarm").values()
        }
        dlq = f"shop-{entity}-dlq.fifo"
        arrivals = alarms[f"{dlq}-arrivals"]
        (expression,) = [m for m in arrivals["Metrics"] if "Expression" in m]
        assert expression["Expression"] == "DIFF(depth)"
        (depth,) = [m["MetricStat"]["Metric"] for m in arrivals["Metrics"] if "MetricStat" in m]
        assert depth["MetricName"] == "ApproximateNumberOfMessagesVisible" and depth["Namespace"] == "AWS/SQS"
        assert arrivals["Threshold"] == 0 and arrivals["TreatMissingData"] == "notBreaching"
        oldest = alarms[f"{dlq}-oldest"]
        assert oldest["MetricName"] == "ApproximateAgeOfOldestMessage"
        assert oldest["Threshold"] == DLQ_RETENTION_SECONDS // 2 == 7 * 86400
        assert alarms[f"{dlq}-visible"]["Threshold"] == 0


@pytest.mark.parametrize("entity", ["customers", "orders"])
def test_a_new_worker_version_meets_its_schema_before_the_alias_moves(
    synthesized: Synthesized, entity: str
) -> None:
    template = synthesized.templates[naming.entity_stack_name("shop", entity)]
    (version_id,) = resources(template, "AWS::Lambda::Version")
    (gate_id, gate) = next(iter(resources(template, "Custom::Trigger").items()))
    assert gate["Properties"]["HandlerArn"] == {"Ref": version_id}
    assert gate["Properties"]["InvocationType"] == "RequestResponse"
    (alias,) = resources(template, "AWS::Lambda::Alias").values()
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version_id, "Version"]}
    assert gate_id in alias["DependsOn"]


def test_every_function_traces_with_x_ray(synthesized: Synthesized) -> None:
    ours = 0
    for template in synthesized.templates.values():
        for function in resources(template, "AWS::Lambda::Function").values():
            props = function["Properties"]
            if "ImageConfig" not in props:
                continue  # CDK's own providers
            assert props["TracingConfig"] == {"Mode": "Active"}
            assert props["Environment"]["Variables"]["QUEUEFIRST_TRACING"] == "true"
            ours += 1
    assert ours == 3 + 4  # api, admin, migrations, one worker per entity


def test_functions_verify_the_proxys_certificate_with_the_root_the_image_ships(
    synthesized: Synthesized,
) -> None:
    urls = {}
    for template in synthesized.templates.values():
        for function in resources(template, "AWS::Lambda::Function").values():
            variables = function["Properties"].get("Environment", {}).get("Variables", {})
            if "DATABASE_URL" in variables:
                urls[function["Properties"]["FunctionName"]] = str(variables["DATABASE_URL"])
    for name, url in urls.items():
        if name == "shop-migrations":
            assert "sslmode=require" in url  # to the cluster itself, not through the proxy
        else:
            assert f"sslmode=verify-full&sslrootcert={PROXY_CA_FILE}" in url, name
    dockerfile = (ROOT / "images" / "base" / "Dockerfile").read_text()
    (copied,) = re.findall(r"^COPY .*? (\S+amazon-root-ca-1\.pem) (\S+)$", dockerfile, re.M)
    assert copied[1] == PROXY_CA_FILE and (ROOT / copied[0]).is_file()


def test_a_malformed_alarm_email_is_refused() -> None:
    with pytest.raises(InfraConfigError, match="alarm_email"):
        InfraConfig.from_context({"alarm_email": "ops@example.com, not-an-address"}.get)
