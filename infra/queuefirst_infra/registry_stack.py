"""One ECR repository per function image: immutable tags, scanned on push, pruned."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from constructs import Construct

from queuefirst.model import names
from queuefirst.model.registry import Registry
from queuefirst_infra import naming

UNTAGGED_DAYS = 7
KEEP_IMAGES = 50


def repository_names(registry: Registry) -> list[str]:
    app = registry.app
    functions = [names.api_function_name(app), naming.admin_function_name(app)]
    functions += [names.worker_function_name(app, entity) for entity in registry]
    return [naming.repository_name(app, f) for f in functions]


class RegistryStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, registry: Registry, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.repositories: dict[str, ecr.Repository] = {}
        for name in repository_names(registry):
            self.repositories[name] = ecr.Repository(
                self,
                name,
                repository_name=name,
                image_tag_mutability=ecr.TagMutability.IMMUTABLE,
                image_scan_on_push=True,
                encryption=ecr.RepositoryEncryption.KMS,
                removal_policy=RemovalPolicy.RETAIN,
                lifecycle_rules=[
                    ecr.LifecycleRule(
                        rule_priority=1,
                        description=f"expire untagged images after {UNTAGGED_DAYS} days",
                        tag_status=ecr.TagStatus.UNTAGGED,
                        max_image_age=Duration.days(UNTAGGED_DAYS),
                    ),
                    ecr.LifecycleRule(
                        rule_priority=2,
                        description=f"keep the newest {KEEP_IMAGES} images",
                        tag_status=ecr.TagStatus.ANY,
                        max_image_count=KEEP_IMAGES,
                    ),
                ],
            )
