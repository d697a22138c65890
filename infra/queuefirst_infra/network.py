"""A VPC without NAT: isolated subnets, AWS services reached through endpoints."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

HTTPS = ec2.Port.tcp(443)
INTERFACE_ENDPOINTS = {
    "Sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
}
ISOLATED = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)


class Network(Construct):
    """VPC, endpoints, and the security groups of the functions.

    `functions` is the group of the api and the workers (they reach the
    proxy and the endpoints), `migrations` the group of the one function
    that talks to the cluster directly.
    """

    def __init__(self, scope: Construct, construct_id: str, *, max_azs: int = 2) -> None:
        super().__init__(scope, construct_id)
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=max_azs,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                )
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
            flow_logs={
                "Rejected": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                    traffic_type=ec2.FlowLogTrafficType.REJECT,
                )
            },
        )
        self.functions = ec2.SecurityGroup(
            self,
            "Functions",
            vpc=self.vpc,
            description="api and worker functions",
            allow_all_outbound=False,
        )
        self.migrations = ec2.SecurityGroup(
            self,
            "Migrations",
            vpc=self.vpc,
            description="migrations function",
            allow_all_outbound=False,
        )
        self.endpoints = ec2.SecurityGroup(
            self,
            "Endpoints",
            vpc=self.vpc,
            description="interface endpoints: HTTPS from the functions",
            allow_all_outbound=False,
        )
        for client in (self.functions, self.migrations):
            self.endpoints.connections.allow_from(client, HTTPS, "HTTPS to AWS service endpoints")
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for endpoint_id, service in INTERFACE_ENDPOINTS.items():
            self.interface_endpoints[endpoint_id] = self.vpc.add_interface_endpoint(
                endpoint_id,
                service=service,
                private_dns_enabled=True,
                subnets=ISOLATED,
                security_groups=[self.endpoints],
                open=False,
            )
