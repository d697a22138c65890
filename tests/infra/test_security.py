"""Who may call what, deployed, read from the synthesized templates; and AWS's rule pack.

AWS itself can't run here: the HTTP API's routes, authorizers and user pools
are checked as CloudFormation, and cdk-nag's AwsSolutions checks run in the
very synthesis these tests use (an unacknowledged finding fails it).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigatewayv2 as apigwv2

from queuefirst.model.http_routes import DEFAULT_ROUTE, api_routes
from queuefirst.model.principal import OPERATORS, USERS
from queuefirst.model.registry import Registry
from queuefirst_infra.build import build
from queuefirst_infra.config import InfraConfig
from tests.infra.infra_helpers import Synthesized, application_of, images_for, resources

EVENT_SOURCE_MAPPINGS = "arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:event-source-mapping:*"
NETWORK_INTERFACES = "arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*"
MONITORING = "arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
# Every acknowledged finding, how many constructs carry it (functions: the api, the console, migrations
# and one worker per entity), and a word its reason must give.
FUNCTIONS = 3 + 4
ACKNOWLEDGED = {
    # The api's contract and its page; the console's shell and assets.
    "AwsSolutions-APIG4": (2 + 2, "public by design"),
    # Every function's VPC and X-Ray grants; the console's metrics and event source listing.
    "AwsSolutions-IAM5[Resource::*]": (FUNCTIONS + 1, "accept no resource"),
    f"AwsSolutions-IAM5[Resource::{EVENT_SOURCE_MAPPINGS}]": (1, "minted by Lambda at deploy time"),
    f"AwsSolutions-IAM5[Resource::{NETWORK_INTERFACES}]": (FUNCTIONS, "not known in advance"),
    f"AwsSolutions-IAM4[Policy::{MONITORING}]": (1, "only RDS assumes it"),
    "AwsSolutions-COG2": (1, "Operators' MFA is required"),
    "AwsSolutions-COG3": (2, "Plus feature plan"),
    "AwsSolutions-COG8": (2, "Plus feature plan"),
}


def shared(synthesized: Synthesized) -> Mapping[str, Any]:
    return synthesized.templates["shop-shared"]


def authorizer_ids(template: Mapping[str, Any]) -> dict[str, str]:
    """Authorizer name (users, operators) -> its logical id."""
    found = resources(template, "AWS::ApiGatewayV2::Authorizer")
    return {props["Properties"]["Name"]: logical for logical, props in found.items()}


def test_every_business_route_has_its_populations_authorizer(
    synthesized: Synthesized, registry: Registry
) -> None:
    template = shared(synthesized)
    ids = authorizer_ids(template)
    assert set(ids) == {USERS, OPERATORS}
    deployed = {
        props["Properties"]["RouteKey"]: props["Properties"]
        for props in resources(template, "AWS::ApiGatewayV2::Route").values()
    }
    expected = api_routes(registry)
    assert set(deployed) == {route.key for route in expected}
    for route in expected:
        properties = deployed[route.key]
        if route.authorizer is None:
            assert properties["AuthorizationType"] == "NONE", route.key
            assert route.path in ("/openapi.json", "/docs")
        else:
            assert properties["AuthorizationType"] == "JWT", route.key
            assert properties["AuthorizerId"] == {"Ref": ids[route.authorizer]}, route.key
    assert deployed[DEFAULT_ROUTE]["AuthorizerId"] == {"Ref": ids[USERS]}
    assert deployed["POST /products"]["AuthorizerId"] == {"Ref": ids[OPERATORS]}
    assert deployed["POST /customers/{key}/suspend"]["AuthorizerId"] == {"Ref": ids[OPERATORS]}


def test_each_authorizer_trusts_its_own_pool_and_app_client(synthesized: Synthesized) -> None:
    template = shared(synthesized)
    pools = {
        props["Properties"]["UserPoolName"]: logical
        for logical, props in resources(template, "AWS::Cognito::UserPool").items()
    }
    assert set(pools) == {"shop-users", "shop-operators"}
    clients = {
        props["Properties"]["UserPoolId"]["Ref"]: logical
        for logical, props in resources(template, "AWS::Cognito::UserPoolClient").items()
    }
    for kind, logical in authorizer_ids(template).items():
        properties = template["Resources"][logical]["Properties"]
        assert properties["AuthorizerType"] == "JWT"
        assert properties["IdentitySource"] == ["$request.header.Authorization"]
        pool = pools[f"shop-{kind}"]
        issuer = json.dumps(properties["JwtConfiguration"]["Issuer"])
        assert pool in issuer and "cognito-idp" in issuer
        assert properties["JwtConfiguration"]["Audience"] == [{"Ref": clients[pool]}]


def test_the_pools_keep_operators_and_end_users_apart(synthesized: Synthesized) -> None:
    pools = {
        props["Properties"]["UserPoolName"]: props["Properties"]
        for props in resources(shared(synthesized), "AWS::Cognito::UserPool").values()
    }
    operators, users = pools["shop-operators"], pools["shop-users"]
    assert operators["MfaConfiguration"] == "ON"
    assert operators["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert users["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False  # end users sign up
    for pool in (operators, users):
        assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    for client in resources(shared(synthesized), "AWS::Cognito::UserPoolClient").values():
        assert client["Properties"]["GenerateSecret"] is False  # public clients: apps keep no secret


def test_the_api_knows_each_authorizers_issuer(synthesized: Synthesized) -> None:
    functions = resources(shared(synthesized), "AWS::Lambda::Function")
    (api,) = [f for f in functions.values() if f["Properties"].get("FunctionName") == "shop-api"]
    variables = api["Properties"]["Environment"]["Variables"]
    for kind in (USERS, OPERATORS):
        assert "cognito-idp" in json.dumps(variables[f"QUEUEFIRST_{kind.upper()}_ISSUER"])


def test_no_function_role_holds_an_aws_managed_policy(synthesized: Synthesized) -> None:
    for stack, template in synthesized.templates.items():
        for logical, role in resources(template, "AWS::IAM::Role").items():
            managed = json.dumps(role["Properties"].get("ManagedPolicyArns", []))
            if "MonitoringRole" in logical or "AWS679f53fac002430cb0da5b7982bd2287" in logical:
                continue  # RDS's monitoring role (acknowledged); CDK's own providers
            assert "AWSLambdaVPCAccessExecutionRole" not in managed, (stack, logical)


def test_the_database_secret_rotates(synthesized: Synthesized) -> None:
    (schedule,) = resources(shared(synthesized), "AWS::SecretsManager::RotationSchedule").values()
    assert schedule["Properties"]["RotationRules"]["ScheduleExpression"] == "rate(30 days)"


def test_the_rule_pack_passes_with_only_the_listed_acknowledgements(synthesized: Synthesized) -> None:
    """The synthesis itself failed on any unacknowledged finding; here, what was acknowledged."""
    counts = Counter(a.finding for a in synthesized.acknowledged)
    assert dict(counts) == {finding: count for finding, (count, _) in ACKNOWLEDGED.items()}
    for acknowledged in synthesized.acknowledged:
        assert ACKNOWLEDGED[acknowledged.finding][1] in acknowledged.reason, acknowledged


def test_the_rule_pack_fails_a_synthesis_with_a_new_finding(registry: Registry) -> None:
    app = cdk.App(context={"images": images_for(registry)})
    stacks = build(app, application_of(registry), InfraConfig(images=images_for(registry)), registry=registry)
    apigwv2.CfnRoute(stacks.shared, "Unguarded", api_id=stacks.shared.http_api.api_id, route_key="GET /open")
    with pytest.raises(RuntimeError, match="AwsSolutions-APIG4") as caught:
        app.synth()
    assert "shop-shared/Unguarded" in str(caught.value)
