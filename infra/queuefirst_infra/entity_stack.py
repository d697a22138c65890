"""One stack per entity: its queues, its worker, the event source, alarms and a dashboard.

Least privilege, from the registry:

- the worker consumes its own queue (the event source's grant) and may send
  only to its declared children's and asked entities' queues;
- the queue key lets its senders (the api, the parent's worker, the workers
  of the entities that ask this one) encrypt and decrypt, by their roles'
  fixed names, and nobody else besides this entity's worker and the
  account's administrators;
- the worker connects to the proxy as its own database user only.

The queues are FIFO, in high-throughput mode: a lane (message group) is
served one batch at a time, in order, and commands are deduplicated by id.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack, triggers
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from queuefirst.model import names
from queuefirst.model.entity import Entity
from queuefirst.model.limits import DLQ_RETENTION_SECONDS, QUEUE_RETENTION_SECONDS
from queuefirst.model.registry import Registry
from queuefirst_infra import naming
from queuefirst_infra.alerting import alarm_topic
from queuefirst_infra.config import InfraConfig
from queuefirst_infra.functions import ImageFunction, ImageFunctionSpec, image_function, role_arn
from queuefirst_infra.monitoring import function_alarms, queue_alarms, worker_dashboard
from queuefirst_infra.shared_stack import SharedStack, queue_arn


def senders_of(registry: Registry, entity: str) -> list[str]:
    """The entities whose workers send commands to `entity`: its parent, those that ask it, and
    those that answer what it asked."""
    return registry.senders(entity)


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
        self.app = registry.app
        self.registry = registry
        self.entity = entity
        self.function_name = names.worker_function_name(self.app, entity.name)
        self.key = self._key(registry)
        self.dead_letter_queue, self.queue = self._queues()
        self.worker = self._worker(shared, config)
        self._schema_gate()
        self._event_source()
        self._permissions(shared)
        self.alarms = self._alarms(config)
        worker_dashboard(
            self,
            name=naming.entity_stack_name(self.app, entity.name),
            queue=self.queue,
            dead_letter_queue=self.dead_letter_queue,
            function=self.worker.function,
            alarms=self.alarms,
        )

    def _key(self, registry: Registry) -> kms.Key:
        queue_name = names.queue_name(self.app, self.entity.name)
        key = kms.Key(
            self,
            "QueueKey",
            alias=f"alias/{queue_name.removesuffix(names.FIFO_SUFFIX)}",
            description=f"{queue_name} and its dead-letter queue",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # The console sends commands and redrives, and reads the dead letters, with the same key.
        senders = [names.api_function_name(self.app), names.admin_function_name(self.app)]
        senders += [names.worker_function_name(self.app, e) for e in senders_of(registry, self.entity.name)]
        # Named by the condition, not as principals: KMS refuses a principal that does not exist
        # yet, and the senders of a queue include the entities it answers, whose stacks depend on
        # this one (an item asks its product, the product answers the item): as principals, the
        # two stacks would each have to exist first.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SendersEncryptThroughSqs",
                principals=[iam.AccountRootPrincipal()],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {"kms:ViaService": f"sqs.{self.region}.amazonaws.com"},
                    "ArnEquals": {"aws:PrincipalArn": [role_arn(self, role) for role in senders]},
                },
            )
        )
        return key

    def _queues(self) -> tuple[sqs.Queue, sqs.Queue]:
        fifo = {
            "fifo": True,
            "content_based_deduplication": False,
            # High throughput: deduplication and the rate limit per message group.
            "deduplication_scope": sqs.DeduplicationScope.MESSAGE_GROUP,
            "fifo_throughput_limit": sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
            "encryption": sqs.QueueEncryption.KMS,
            "encryption_master_key": self.key,
            "enforce_ssl": True,
        }
        dead_letters = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=names.dead_letter_queue_name(self.app, self.entity.name),
            retention_period=Duration.seconds(DLQ_RETENTION_SECONDS),
            **fifo,  # type: ignore[arg-type]
        )
        scaling = self.entity.scaling
        queue = sqs.Queue(
            self,
            "Queue",
            queue_name=names.queue_name(self.app, self.entity.name),
            data_key_reuse=Duration.minutes(5),
            visibility_timeout=Duration.seconds(scaling.visibility_timeout_seconds),
            retention_period=Duration.seconds(QUEUE_RETENTION_SECONDS),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dead_letters, max_receive_count=scaling.max_receive_count
            ),
            **fifo,  # type: ignore[arg-type]
        )
        return dead_letters, queue

    def _worker(self, shared: SharedStack, config: InfraConfig) -> ImageFunction:
        scaling = self.entity.scaling
        db_user = naming.worker_db_user(self.app, self.entity.name)
        return image_function(
            self,
            ImageFunctionSpec(
                function_name=self.function_name,
                repository=naming.repository_name(self.app, self.function_name),
                image_key=self.function_name,
                cmd=(names.WORKER_HANDLER,),
                memory_mb=scaling.memory_mb,
                timeout_seconds=scaling.timeout_seconds,
                reserved_concurrency=scaling.reserved_concurrency,
                environment={
                    **shared.common_env,
                    "QUEUEFIRST_ENTITY": self.entity.name,
                    "QUEUEFIRST_SENDS_TO": ",".join(self.registry.sends_to(self.entity.name)),
                    "DATABASE_URL": shared.database.url(db_user, shared.database.proxy.endpoint),
                },
            ),
            config=config,
            vpc=shared.network.vpc,
            security_group=shared.network.functions,
        )

    def _schema_gate(self) -> None:
        """Each new version is invoked before the `live` alias moves to it.

        Its init checks the database's schema revision against the one its
        image needs (`queuefirst.store.revision`); a database behind fails the
        init, so this trigger fails and CloudFormation rolls the stack back,
        showing the function's message (what to run) before any record reaches
        the new version. `cdk deploy <app>-<entity>` thus cannot outrun the
        migrations, which deploying the shared stack runs first.
        """
        triggers.Trigger(
            self,
            "SchemaGate",
            handler=self.worker.function,  # its current version: the one the alias is about to take
            execute_on_handler_change=True,
            execute_before=[self.worker.alias],
            timeout=Duration.seconds(self.entity.scaling.timeout_seconds + 60),
        )

    def _event_source(self) -> None:
        # FIFO: at most ten messages a batch and no batching window (AWS allows neither).
        self.worker.alias.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=self.entity.scaling.batch_size,
                max_concurrency=self.entity.scaling.maximum_concurrency,
                report_batch_item_failures=True,
            )
        )

    def _permissions(self, shared: SharedStack) -> None:
        sends_to = self.registry.sends_to(self.entity.name)
        if sends_to:
            self.worker.role.add_to_policy(
                iam.PolicyStatement(
                    sid="SendCommandsToChildrenAndAsked",
                    actions=["sqs:SendMessage"],
                    resources=[queue_arn(self, names.queue_name(self.app, e)) for e in sends_to],
                )
            )
        shared.database.proxy.grant_connect(
            self.worker.role, naming.worker_db_user(self.app, self.entity.name)
        )

    def _alarms(self, config: InfraConfig) -> list[cloudwatch.Alarm]:
        topic = alarm_topic(self, self.app)
        alarms = function_alarms(self, self.worker.function, self.function_name, topic, worker=True)
        alarms += queue_alarms(
            self,
            queue=self.queue,
            queue_name=names.queue_name(self.app, self.entity.name),
            dead_letter_queue=self.dead_letter_queue,
            dead_letter_queue_name=names.dead_letter_queue_name(self.app, self.entity.name),
            scaling=self.entity.scaling,
            topic=topic,
        )
        return alarms
