"""Where alarms go: one SNS topic per application, which a person subscribes to.

The shared stack creates `<app>-alarms`, encrypted with a key CloudWatch may
use (an alarm publishing to a topic under AWS's own SNS key is dropped), and
subscribes each address of the `alarm_email` context value (comma-separated)
by email; each address confirms once, from the message AWS sends it. Every
alarm of every stack notifies the topic, on ALARM and on OK. Entity stacks
name the topic by its ARN, so no export ties them to the shared stack.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from queuefirst_infra import naming


class AlarmTopic(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, app: str, emails: list[str]) -> None:
        super().__init__(scope, construct_id)
        key = kms.Key(
            self,
            "Key",
            description=f"{naming.alarm_topic_name(app)}: alarm notifications",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=naming.alarm_topic_name(app),
            display_name=f"{app} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))


def alarm_topic(scope: Construct, app: str) -> sns.ITopic:
    """The application's alarm topic, named by ARN from any stack."""
    arn = Stack.of(scope).format_arn(service="sns", resource=naming.alarm_topic_name(app))
    return sns.Topic.from_topic_arn(scope, "AlarmTopic", arn)
