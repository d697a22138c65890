"""One stack per entity: its queues, its worker, the event source, alarms and a dashboard.

Least privilege, from the registry:

- the worker consumes its own queue (the event source's grant) and may send
  only to its declared children's queues;
- the queue key lets the parent's worker and the api encrypt and decrypt
  (roles named in the key policy by their fixed names), nobody else besides
  this entity's worker and the account's administrators;
- the worker connects to the proxy as its own database user only.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from queuefirst.model import names
from queuefirst.model.entity import Entity
from queuefirst.model.registry import Registry
from queuefirst_infra import naming
from queuefirst_infra.config import InfraConfig
from queuefirst_infra.functions import ImageFunctionSpec, image_function, role_arn
from queuefirst_infra.monitoring import function_alarms, queue_alarms, worker_dashboard
from queuefirst_infra.shared_stack import SharedStack, queue_arn

DLQ_RETENTION = Duration.days(14)
QUEUE_RETENTION = Duration.days(4)


class EntityStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        registry: Registry,
        entity: Entity,
        shared: SharedStack,
        config: InfraConfig,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        app = registry.app
        scaling = entity.scaling
        function_name = names.worker_function_name(app, entity.name)
        queue_name = names.queue_name(app, entity.name)
        dlq_name = names.dead_letter_queue_name(app, entity.name)

        self.key = kms.Key(
            self,
            "QueueKey",
            alias=f"alias/{queue_name}",
            description=f"{queue_name} and its dead-letter queue",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        senders = [names.api_function_name(app)]
        if entity.parent is not None:
            senders.append(names.worker_function_name(app, entity.parent))
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SendersEncryptThroughSqs",
                principals=[iam.ArnPrincipal(role_arn(self, role)) for role in senders],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"kms:ViaService": f"sqs.{self.region}.amazonaws.com"}},
            )
        )
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=dlq_name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            retention_period=DLQ_RETENTION,
            enforce_ssl=True,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=queue_name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            data_key_reuse=Duration.minutes(5),
            visibility_timeout=Duration.seconds(scaling.visibility_timeout_seconds),
            retention_period=QUEUE_RETENTION,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=scaling.max_receive_count
            ),
        )

        db_user = naming.worker_db_user(app, entity.name)
        self.worker = image_function(
            self,
            ImageFunctionSpec(
                function_name=function_name,
                repository=naming.repository_name(app, function_name),
                image_key=function_name,
                cmd=(names.WORKER_HANDLER,),
                memory_mb=scaling.memory_mb,
                timeout_seconds=scaling.timeout_seconds,
                reserved_concurrency=scaling.reserved_concurrency,
                environment={
                    **shared.common_env,
                    "QUEUEFIRST_ENTITY": entity.name,
                    "DATABASE_URL": shared.database.url(db_user, shared.database.proxy.endpoint),
                },
            ),
            config=config,
            vpc=shared.network.vpc,
            security_group=shared.network.functions,
        )
        self.worker.alias.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=scaling.batch_size,
                max_batching_window=(
                    Duration.seconds(scaling.batching_window_seconds)
                    if scaling.batching_window_seconds
                    else None
                ),
                max_concurrency=scaling.maximum_concurrency,
                report_batch_item_failures=True,
            )
        )
        if entity.children:
            self.worker.role.add_to_policy(
                iam.PolicyStatement(
                    sid="SendCommandsToChildren",
                    actions=["sqs:SendMessage"],
                    resources=[queue_arn(self, names.queue_name(app, child)) for child in entity.children],
                )
            )
        shared.database.proxy.grant_connect(self.worker.role, db_user)

        alarms = function_alarms(
            self, self.worker.function, function_name, config.alarm_topic_arn, worker=True
        )
        alarms += queue_alarms(
            self,
            queue=self.queue,
            queue_name=queue_name,
            dead_letter_queue=self.dead_letter_queue,
            dead_letter_queue_name=dlq_name,
            scaling=scaling,
            topic_arn=config.alarm_topic_arn,
        )
        self.alarms = alarms
        worker_dashboard(
            self,
            name=naming.entity_stack_name(app, entity.name),
            queue=self.queue,
            dead_letter_queue=self.dead_letter_queue,
            function=self.worker.function,
            alarms=alarms,
        )
