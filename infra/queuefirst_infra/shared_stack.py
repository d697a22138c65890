"""The shared stack: network, database, user pools, the HTTP API with its function, migrations.

The HTTP API's routes are the api's route table (`queuefirst.model.http_routes`):
each business route behind the JWT authorizer of the population it serves
(end users' or operators' user pool), the contract and its page public, and
`$default` (whatever else: the api's 404 and 405) behind the end users'.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from aws_cdk import CfnOutput, Duration, Stack, triggers
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from queuefirst.model import names
from queuefirst.model.application import Application
from queuefirst.model.http_routes import DEFAULT_ROUTE, HttpRoute, api_routes
from queuefirst.model.principal import AUTHORIZERS, USERS, issuer_variable
from queuefirst.model.registry import Registry
from queuefirst_infra import naming
from queuefirst_infra.acknowledge import acknowledge
from queuefirst_infra.alerting import AlarmTopic
from queuefirst_infra.config import InfraConfig
from queuefirst_infra.database import ADMIN_USER, Database
from queuefirst_infra.functions import ImageFunction, ImageFunctionSpec, image_function, retention
from queuefirst_infra.monitoring import function_alarms
from queuefirst_infra.network import Network
from queuefirst_infra.user_pools import UserPools

MIGRATIONS_TIMEOUT_SECONDS = 600


def queue_url_prefix(stack: Stack) -> str:
    return f"https://sqs.{stack.region}.{stack.url_suffix}/{stack.account}/"


def queue_arn(stack: Stack, queue_name: str) -> str:
    return stack.format_arn(service="sqs", resource=queue_name)


class SharedStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        application: Application,
        registry: Registry,
        config: InfraConfig,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        app = registry.app
        self.application = application
        self.app_name = app
        self.alarms = AlarmTopic(self, "Alarms", app=app, emails=config.alarm_emails)
        self.user_pools = UserPools(self, "UserPools", app=app)
        self.network = Network(self, "Network")
        self.database = Database(
            self,
            "Database",
            app=app,
            network=self.network,
            config=config,
            db_users=[naming.api_db_user(app), naming.admin_db_user(app)]
            + [naming.worker_db_user(app, e) for e in registry],
        )
        proxy_host = self.database.proxy.endpoint
        common_env = {
            "QUEUEFIRST_APPLICATION": application.package,
            "QUEUEFIRST_QUEUE_URL_PREFIX": queue_url_prefix(self),
            "QUEUEFIRST_DB_IAM_AUTH": "true",
        }
        self.common_env = common_env

        # -- api: reads through the proxy as a read-only user, writes only by sending commands
        api_name = names.api_function_name(app)
        self.api = image_function(
            Construct(self, "Api"),
            ImageFunctionSpec(
                function_name=api_name,
                repository=naming.repository_name(app, api_name),
                image_key=api_name,
                cmd=(names.API_HANDLER,),
                memory_mb=config.api_memory_mb,
                timeout_seconds=config.api_timeout_seconds,
                reserved_concurrency=config.api_reserved_concurrency,
                environment={
                    **common_env,
                    "DATABASE_URL": self.database.url(naming.api_db_user(app), proxy_host),
                    # The claims of a route must come from its authorizer's pool.
                    **{issuer_variable(kind): self.user_pools.issuer(kind) for kind in AUTHORIZERS},
                },
            ),
            config=config,
            vpc=self.network.vpc,
            security_group=self.network.functions,
        )
        self.api.role.add_to_policy(
            iam.PolicyStatement(
                sid="SendCommandsToEntityQueues",
                actions=["sqs:SendMessage"],
                resources=[queue_arn(self, names.queue_name(app, e)) for e in registry],
            )
        )
        self.database.proxy.grant_connect(self.api.role, naming.api_db_user(app))
        function_alarms(self.api.function, self.api.function, api_name, self.alarms.topic)
        self.http_api = self._http_api(registry, self.api, config)

        # -- migrations: same image family as the api, run on every deploy that changes it
        self.migrations = self._migrations(app, registry, config)
        CfnOutput(self, "ApiUrl", value=self.http_api_url)
        for kind, pool in self.user_pools.pools.items():
            title = kind.capitalize()
            CfnOutput(self, f"{title}PoolId", value=pool.user_pool_id)
            CfnOutput(self, f"{title}ClientId", value=self.user_pools.clients[kind].user_pool_client_id)
        CfnOutput(self, "AlarmTopicArn", value=self.alarms.topic.topic_arn)

    def _http_api(self, registry: Registry, api: ImageFunction, config: InfraConfig) -> apigwv2.HttpApi:
        # One invoke permission for the API, not one per route: the function's resource
        # policy stays small however many routes the registry makes.
        integration = integrations.HttpLambdaIntegration("Api", api.alias, scope_permission_to_route=False)
        route_authorizers = {kind: self.user_pools.authorizer(kind) for kind in AUTHORIZERS}
        # Kept: the admin console's stack puts its routes behind the same operators' authorizer.
        self.route_authorizers = route_authorizers
        http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            api_name=names.api_function_name(registry.app),
            default_integration=integration,
            default_authorizer=route_authorizers[USERS],  # $default: whatever no route names
            create_default_stage=False,
        )
        self.routes: dict[str, apigwv2.HttpRoute] = {}
        for route in api_routes(registry):
            if route.path != DEFAULT_ROUTE:
                self.routes[route.key] = self._route(http_api, route, integration, route_authorizers)
        stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=config.api_throttle_rate, burst_limit=config.api_throttle_burst
            ),
        )
        access_logs = logs.LogGroup(self, "ApiAccessLogs", retention=retention(config.log_retention_days))
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn,
            format=json.dumps(
                {
                    "requestId": "$context.requestId",
                    "ip": "$context.identity.sourceIp",
                    "requestTime": "$context.requestTime",
                    "routeKey": "$context.routeKey",
                    "status": "$context.status",
                    "latency": "$context.integrationLatency",
                    "error": "$context.integrationErrorMessage",
                },
                separators=(",", ":"),
            ),
        )
        self.http_api_url = stage.url
        return http_api

    def _route(
        self,
        http_api: apigwv2.HttpApi,
        route: HttpRoute,
        integration: integrations.HttpLambdaIntegration,
        route_authorizers: Mapping[str, apigwv2.IHttpRouteAuthorizer],
    ) -> apigwv2.HttpRoute:
        authorizer = (
            apigwv2.HttpNoneAuthorizer() if route.authorizer is None else route_authorizers[route.authorizer]
        )
        construct_id = "Route" + "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", route.key))
        created = apigwv2.HttpRoute(
            self,
            construct_id,
            http_api=http_api,
            route_key=apigwv2.HttpRouteKey.with_(route.path, apigwv2.HttpMethod(route.method)),
            integration=integration,
            authorizer=authorizer,
            authorization_scopes=list(route.scopes) or None,
        )
        if route.authorizer is None:
            acknowledge(
                created,
                "AwsSolutions-APIG4",
                f"{route.key} is public by design: the API's contract and its page, which "
                "carry no data; every business route has a JWT authorizer.",
            )
        return created

    def _migrations(self, app: str, registry: Registry, config: InfraConfig) -> ImageFunction:
        name = naming.migrations_function_name(app)
        api_name = names.api_function_name(app)
        image_key = name if name in config.images else api_name
        database = self.database
        migrations = image_function(
            Construct(self, "Migrations"),
            ImageFunctionSpec(
                function_name=name,
                repository=naming.repository_name(app, name),
                image_key=image_key,
                cmd=(names.MIGRATIONS_HANDLER,),
                memory_mb=512,
                timeout_seconds=MIGRATIONS_TIMEOUT_SECONDS,
                reserved_concurrency=1,
                environment={
                    "QUEUEFIRST_APPLICATION": self.application.package,
                    # Straight to the cluster, whose certificate is signed by the RDS CA, not
                    # the Amazon root the image trusts for the proxy: encrypted, not verified.
                    "DATABASE_URL": database.url(
                        ADMIN_USER, database.cluster.cluster_endpoint.hostname, through_proxy=False
                    ),
                    "QUEUEFIRST_DB_SECRET_ARN": database.admin_secret.secret_arn,
                    # The users the migrations create and grant (see database.py).
                    "QUEUEFIRST_DB_USERS": json.dumps(
                        {
                            "api": naming.api_db_user(app),
                            "admin": naming.admin_db_user(app),
                            "workers": {e: naming.worker_db_user(app, e) for e in registry},
                        },
                        separators=(",", ":"),
                    ),
                },
            ),
            config=config,
            vpc=self.network.vpc,
            security_group=self.network.migrations,
        )
        database.admin_secret.grant_read(migrations.role)
        triggers.Trigger(
            self,
            "RunMigrations",
            handler=migrations.function,
            timeout=Duration.seconds(MIGRATIONS_TIMEOUT_SECONDS + 60),
            execute_after=[database.cluster, self.network],  # endpoints too: it reads the secret
            execute_before=[self.api.function],
            execute_on_handler_change=True,
        )
        return migrations
