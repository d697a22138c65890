"""A container-image function as every queuefirst function is built.

Its role holds inline, least-privilege statements instead of AWS's managed
`AWSLambdaVPCAccessExecutionRole` (which allows every log group and every
network interface of the account): logs to its own log group only, and the
network interfaces Lambda manages for it in its own subnets and security
group. The two wildcards left are AWS's: `ec2:Describe*` and X-Ray's writes
take no resource, and a network interface's id is not known before Lambda
creates it (acknowledged below, with the rule pack's finding ids).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from queuefirst.model.names import LIVE_ALIAS
from queuefirst_infra.acknowledge import acknowledge
from queuefirst_infra.config import BOOTSTRAP_TAG, InfraConfig
from queuefirst_infra.errors import InfraConfigError


@dataclass(frozen=True)
class ImageFunctionSpec:
    function_name: str
    repository: str
    image_key: str  # which entry of the images file names this function's image
    cmd: Sequence[str]
    memory_mb: int
    timeout_seconds: int
    environment: Mapping[str, str]
    reserved_concurrency: int | None = None


@dataclass(frozen=True)
class ImageFunction:
    function: lambda_.DockerImageFunction
    alias: lambda_.Alias
    role: iam.Role
    log_group: logs.LogGroup


_RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def retention(days: int) -> logs.RetentionDays:
    if days not in _RETENTION:
        raise InfraConfigError(f"log_retention_days={days}: choose one of {sorted(_RETENTION)}")
    return _RETENTION[days]


def role_arn(scope: Construct, role_name: str) -> str:
    """The ARN of a role by name, for resource policies in stacks that do not own the role."""
    return Stack.of(scope).format_arn(service="iam", region="", resource="role", resource_name=role_name)


def _allow_vpc_networking(role: iam.Role, vpc: ec2.IVpc, security_group: ec2.ISecurityGroup) -> None:
    """What Lambda needs of the role to attach the function to its subnets, and no more."""
    stack = Stack.of(role)

    def arn(resource: str, name: str) -> str:
        return stack.format_arn(service="ec2", resource=resource, resource_name=name)

    subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnet_ids
    role.add_to_policy(
        iam.PolicyStatement(
            sid="ManageItsNetworkInterfaces",
            actions=[
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            resources=[
                arn("network-interface", "*"),
                arn("security-group", security_group.security_group_id),
                *(arn("subnet", subnet) for subnet in subnets),
            ],
        )
    )
    role.add_to_policy(
        iam.PolicyStatement(
            sid="DescribeNetworkInterfaces",
            actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            resources=["*"],  # Describe actions take no resource
        )
    )
    policy = role.node.find_child("DefaultPolicy")
    acknowledge(
        policy,
        "AwsSolutions-IAM5[Resource::*]",
        "ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets (Lambda's VPC attachment) and "
        "X-Ray's PutTraceSegments and PutTelemetryRecords accept no resource but '*'.",
    )
    acknowledge(
        policy,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*]",
        "Lambda creates the function's network interfaces, so their ids are not known in "
        "advance; creating one is limited to the function's own subnets and security group.",
    )


def image_function(
    scope: Construct,
    spec: ImageFunctionSpec,
    *,
    config: InfraConfig,
    vpc: ec2.IVpc,
    security_group: ec2.ISecurityGroup,
) -> ImageFunction:
    image = config.image(spec.image_key)
    if image is None:
        Annotations.of(scope).add_warning_v2(
            "queuefirst:image-missing",
            f"no image for {spec.image_key} in context 'images'; using tag {BOOTSTRAP_TAG!r}",
        )
        reference = BOOTSTRAP_TAG
    else:
        if image.repository is not None and image.repository != spec.repository:
            raise InfraConfigError(
                f"images: {spec.image_key} names repository {image.repository!r}, "
                f"expected {spec.repository!r}"
            )
        reference = image.tag_or_digest
    repository = ecr.Repository.from_repository_name(scope, "Repository", spec.repository)
    # Role named after the function, so other stacks can name it in key policies.
    role = iam.Role(
        scope,
        "Role",
        role_name=spec.function_name,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"execution role of {spec.function_name}",
    )
    log_group = logs.LogGroup(
        scope,
        "Logs",
        log_group_name=f"/aws/lambda/{spec.function_name}",
        retention=retention(config.log_retention_days),
        removal_policy=RemovalPolicy.RETAIN,
    )
    log_group.grant_write(role)
    _allow_vpc_networking(role, vpc, security_group)
    function = lambda_.DockerImageFunction(
        scope,
        "Function",
        function_name=spec.function_name,
        code=lambda_.DockerImageCode.from_ecr(repository, tag_or_digest=reference, cmd=list(spec.cmd)),
        role=role,
        memory_size=spec.memory_mb,
        timeout=Duration.seconds(spec.timeout_seconds),
        reserved_concurrent_executions=spec.reserved_concurrency,
        # X-Ray on every function; the code's own tracer follows QUEUEFIRST_TRACING.
        environment={**spec.environment, "QUEUEFIRST_TRACING": "true"},
        tracing=lambda_.Tracing.ACTIVE,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        security_groups=[security_group],
        log_group=log_group,
        logging_format=lambda_.LoggingFormat.JSON,
        recursive_loop=lambda_.RecursiveLoop.TERMINATE,
    )
    alias = lambda_.Alias(scope, "Live", alias_name=LIVE_ALIAS, version=function.current_version)
    return ImageFunction(function, alias, role, log_group)
