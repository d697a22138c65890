"""Aurora PostgreSQL Serverless v2 behind an RDS Proxy that speaks IAM and TLS only.

Database users: the api connects as ``<app>_api`` (read-only), each worker
as ``<app>_<entity>``. The proxy authenticates them with IAM end to end
(``DefaultAuthScheme: IAM_AUTH``), so no per-user password exists anywhere;
each function's role may ``rds-db:connect`` as its own user only. The users
themselves and their grants (``GRANT rds_iam``, SELECT for the api, writes
on its own table for a worker) are created by the migrations, which connect
to the cluster directly with the admin secret.

The admin secret rotates every 30 days (AWS's single-user rotation function,
in the isolated subnets, reaching the cluster and the Secrets Manager endpoint
only); the proxy and the migrations read it afresh, so nothing holds a copy.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from constructs import Construct

from queuefirst_infra.acknowledge import acknowledge
from queuefirst_infra.config import InfraConfig
from queuefirst_infra.network import ISOLATED, Network

ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_16_13  # major 16, as the local stack
PORT = 5432
ADMIN_USER = "queuefirst_admin"
SECRET_ROTATION = Duration.days(30)
# RDS Proxy presents ACM certificates, which chain to Amazon Root CA 1 (not to the RDS
# CA bundle): the base image ships that root here (images/base/Dockerfile).
PROXY_CA_FILE = "/etc/ssl/queuefirst/amazon-root-ca-1.pem"


class Database(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        app: str,
        network: Network,
        config: InfraConfig,
        db_users: list[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.database_name = app
        key = kms.Key(
            self,
            "Key",
            description=f"{app} database storage and admin secret",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        cluster_sg = ec2.SecurityGroup(
            self,
            "ClusterSg",
            vpc=network.vpc,
            description="Aurora cluster",
            allow_all_outbound=False,
        )
        proxy_sg = ec2.SecurityGroup(
            self, "ProxySg", vpc=network.vpc, description="RDS Proxy", allow_all_outbound=False
        )
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION),
            credentials=rds.Credentials.from_generated_secret(
                ADMIN_USER, secret_name=f"{app}/db/admin", encryption_key=key
            ),
            default_database_name=self.database_name,
            writer=rds.ClusterInstance.serverless_v2(
                "writer",
                auto_minor_version_upgrade=True,
                enable_performance_insights=True,
                performance_insight_encryption_key=key,
            ),
            serverless_v2_min_capacity=config.db_min_acu,
            serverless_v2_max_capacity=config.db_max_acu,
            vpc=network.vpc,
            vpc_subnets=ISOLATED,
            security_groups=[cluster_sg],
            port=PORT,
            iam_authentication=True,
            storage_encrypted=True,
            storage_encryption_key=key,
            deletion_protection=True,
            backup=rds.BackupProps(retention=Duration.days(7)),
            cloudwatch_logs_exports=["postgresql"],
            monitoring_interval=Duration.seconds(60),
            copy_tags_to_snapshot=True,
            removal_policy=RemovalPolicy.SNAPSHOT,
        )
        assert self.cluster.secret is not None
        self.admin_secret = self.cluster.secret
        rotation_sg = ec2.SecurityGroup(
            self,
            "RotationSg",
            vpc=network.vpc,
            description="admin secret rotation: to the cluster and the Secrets Manager endpoint",
            allow_all_outbound=False,
        )
        self.cluster.add_rotation_single_user(
            automatically_after=SECRET_ROTATION,
            vpc_subnets=ISOLATED,
            security_group=rotation_sg,
            endpoint=network.interface_endpoints["SecretsManager"],
        )
        monitoring_role = self.cluster.node.find_child("MonitoringRole")
        acknowledge(
            monitoring_role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonRDSEnhancedMonitoringRole]",
            "Enhanced Monitoring's service role: only RDS assumes it, and AWS's service-role "
            "policy limits it to RDS's own log groups (RDS*). Copying it inline would freeze a "
            "contract AWS maintains for the monitoring agent.",
        )
        # With IAM_AUTH end to end the proxy signs in to the cluster as each user itself.
        proxy_role = iam.Role(
            self,
            "ProxyRole",
            assumed_by=iam.ServicePrincipal("rds.amazonaws.com"),
            description=f"{app}-proxy: connect to the cluster as the function users",
        )
        proxy_role.add_to_policy(
            iam.PolicyStatement(
                sid="ConnectAsFunctionUsers",
                actions=["rds-db:connect"],
                resources=[
                    Stack.of(self).format_arn(
                        service="rds-db",
                        resource="dbuser",
                        resource_name=f"{self.cluster.cluster_resource_identifier}/{user}",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                    for user in db_users
                ],
            )
        )
        self.proxy = self.cluster.add_proxy(
            "Proxy",
            db_proxy_name=f"{app}-proxy",
            vpc=network.vpc,
            vpc_subnets=ISOLATED,
            security_groups=[proxy_sg],
            secrets=[self.admin_secret],
            role=proxy_role,
            iam_auth=True,
            require_tls=True,
            default_auth_scheme=rds.DefaultAuthScheme.IAM_AUTH,
            max_connections_percent=config.proxy_max_connections_percent,
            max_idle_connections_percent=config.proxy_max_connections_percent // 2,
            idle_client_timeout=Duration.minutes(30),
        )
        db_port = ec2.Port.tcp(PORT)
        self.cluster.connections.allow_from(proxy_sg, db_port, "proxy to cluster")
        self.cluster.connections.allow_from(network.migrations, db_port, "migrations to cluster")
        self.proxy.connections.allow_from(network.functions, db_port, "functions to proxy")

    def url(self, user: str, host: str, *, through_proxy: bool = True) -> str:
        """The DATABASE_URL of a function; the password is an IAM token made at connect time.

        Through the proxy, TLS verifies the proxy's certificate and name
        (`verify-full` against the Amazon root the image ships).
        """
        base = f"postgresql+psycopg://{user}@{host}:{PORT}/{self.database_name}"
        if through_proxy:
            return f"{base}?sslmode=verify-full&sslrootcert={PROXY_CA_FILE}"
        return f"{base}?sslmode=require"
