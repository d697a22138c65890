"""The admin console's stack: its function, its routes on the shared HTTP API, least privilege.

The console may, and only may:

- send commands to every entity's queue (as the api does; a redrive is a send too);
- read, redrive and discard dead letters: receive, delete and change the
  visibility of messages in the entity dead-letter queues, read queue attributes;
- read metrics (`cloudwatch:GetMetricData`, which takes no resource);
- change the scaling of the application's own workers: their event source
  mappings (`lambda:UpdateEventSourceMapping`, conditioned on the function) and
  reserved concurrency (`PutFunctionConcurrency`, `DeleteFunctionConcurrency`,
  `GetFunctionConcurrency` on their ARNs); listing mappings takes no resource;
- connect to the database as its own read-only user.

Routes: `GET /admin` and `GET /admin/{proxy+}` are public (the shell, the login
page and the assets hold no data); `ANY /admin/x/{proxy+}` reaches every view and
change, behind the operators' JWT authorizer. Without an authorizer to put in
front of it, that route is not created at all, so nothing of the console's data
is reachable (the function refuses requests without an authorizer's claims too).
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from constructs import Construct

from queuefirst.model import names
from queuefirst.model.http_routes import admin_routes
from queuefirst.model.principal import OPERATORS, issuer_variable
from queuefirst.model.registry import Registry
from queuefirst_infra import naming
from queuefirst_infra.acknowledge import acknowledge
from queuefirst_infra.alerting import alarm_topic
from queuefirst_infra.config import InfraConfig
from queuefirst_infra.functions import ImageFunction, ImageFunctionSpec, image_function
from queuefirst_infra.monitoring import function_alarms
from queuefirst_infra.shared_stack import SharedStack, queue_arn

ADMIN_MEMORY_MB = 512
ADMIN_TIMEOUT_SECONDS = 29
ADMIN_RESERVED_CONCURRENCY = 5
_COLON = ArnFormat.COLON_RESOURCE_NAME


class AdminStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        registry: Registry,
        shared: SharedStack,
        config: InfraConfig,
        operators_authorizer: apigwv2.IHttpRouteAuthorizer | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.app = registry.app
        self.function_name = names.admin_function_name(self.app)
        db_user = naming.admin_db_user(self.app)
        self.admin: ImageFunction = image_function(
            self,
            ImageFunctionSpec(
                function_name=self.function_name,
                repository=naming.repository_name(self.app, self.function_name),
                image_key=self.function_name,
                cmd=(names.ADMIN_HANDLER,),
                memory_mb=ADMIN_MEMORY_MB,
                timeout_seconds=ADMIN_TIMEOUT_SECONDS,
                reserved_concurrency=ADMIN_RESERVED_CONCURRENCY,
                environment={
                    **shared.common_env,
                    "DATABASE_URL": shared.database.url(db_user, shared.database.proxy.endpoint),
                    # Only the operators' pool's tokens open the console.
                    issuer_variable(OPERATORS): shared.user_pools.issuer(OPERATORS),
                },
            ),
            config=config,
            vpc=shared.network.vpc,
            security_group=shared.network.functions,
        )
        self._permissions(registry)
        shared.database.proxy.grant_connect(self.admin.role, db_user)
        function_alarms(self, self.admin.function, self.function_name, alarm_topic(self, self.app))
        self._routes(registry, shared, operators_authorizer)

    def _permissions(self, registry: Registry) -> None:
        role = self.admin.role
        queues = [queue_arn(self, names.queue_name(self.app, e)) for e in registry]
        dead = [queue_arn(self, names.dead_letter_queue_name(self.app, e)) for e in registry]
        workers = [
            self.format_arn(service="lambda", resource="function", resource_name=name, arn_format=_COLON)
            for name in (names.worker_function_name(self.app, e) for e in registry)
        ]
        statements = [
            iam.PolicyStatement(
                sid="SendCommandsAndRedrivesToEntityQueues",
                actions=["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"],
                resources=queues,
            ),
            iam.PolicyStatement(
                sid="ReadRedriveAndDiscardDeadLetters",
                actions=[
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueUrl",
                    "sqs:GetQueueAttributes",
                ],
                resources=dead,
            ),
            # GetMetricData and ListEventSourceMappings take no resource (AWS's service
            # authorization reference): "*" is the only way to grant them.
            iam.PolicyStatement(
                sid="ReadMetricsAndFindEventSources",
                actions=["cloudwatch:GetMetricData", "lambda:ListEventSourceMappings"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="ScaleOwnWorkersEventSources",
                actions=["lambda:UpdateEventSourceMapping"],
                resources=[
                    self.format_arn(
                        service="lambda",
                        resource="event-source-mapping",
                        resource_name="*",
                        arn_format=_COLON,
                    )
                ],
                conditions={"ArnLike": {"lambda:FunctionArn": [*workers, *(f"{w}:*" for w in workers)]}},
            ),
            iam.PolicyStatement(
                sid="ScaleOwnWorkersConcurrency",
                actions=[
                    "lambda:PutFunctionConcurrency",
                    "lambda:DeleteFunctionConcurrency",
                    "lambda:GetFunctionConcurrency",
                ],
                resources=workers,
            ),
        ]
        # A policy of its own (not the role's default one), so its two acknowledged
        # wildcards stand on exactly the statements that need them.
        policy = iam.Policy(self, "ConsolePolicy", roles=[role], statements=statements)
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "cloudwatch:GetMetricData and lambda:ListEventSourceMappings accept no resource but '*' "
            "(AWS's service authorization reference); both only read.",
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:"
            "event-source-mapping:*]",
            "Event source mapping ids are minted by Lambda at deploy time; the grant is conditioned "
            "on lambda:FunctionArn naming only this application's own workers.",
        )

    def _routes(
        self, registry: Registry, shared: SharedStack, authorizer: apigwv2.IHttpRouteAuthorizer | None
    ) -> None:
        integration = integrations.HttpLambdaIntegration("Admin", self.admin.alias)
        for index, route in enumerate(admin_routes(registry)):
            if route.authorizer is not None and authorizer is None:
                continue  # never public: no route until the operators' authorizer is given
            method = apigwv2.HttpMethod.ANY if route.method == "ANY" else apigwv2.HttpMethod(route.method)
            created = apigwv2.HttpRoute(
                self,
                f"Route{index}",
                http_api=shared.http_api,
                route_key=apigwv2.HttpRouteKey.with_(route.path, method),
                integration=integration,
                authorizer=authorizer if route.authorizer is not None else apigwv2.HttpNoneAuthorizer(),
            )
            if route.authorizer is None:
                acknowledge(
                    created,
                    "AwsSolutions-APIG4",
                    f"{route.key} is public by design: the console's page shell, login page and "
                    "assets, which carry no data; every view and change is under /admin/x, behind "
                    "the operators' JWT authorizer.",
                )
