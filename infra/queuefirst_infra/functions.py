"""A container-image function as every queuefirst function is built."""

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
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaVPCAccessExecutionRole")
        ],
    )
    log_group = logs.LogGroup(
        scope,
        "Logs",
        log_group_name=f"/aws/lambda/{spec.function_name}",
        retention=retention(config.log_retention_days),
        removal_policy=RemovalPolicy.RETAIN,
    )
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
