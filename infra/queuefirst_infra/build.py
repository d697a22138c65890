"""Assemble every stack of an application from its registry."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import App, Environment, Tags, Validations
from cdk_nag import AwsSolutionsChecks

from queuefirst.model.application import Application
from queuefirst.model.principal import OPERATORS
from queuefirst.model.registry import Registry
from queuefirst_infra import naming
from queuefirst_infra.admin_stack import AdminStack
from queuefirst_infra.budget import check_connection_budget
from queuefirst_infra.config import InfraConfig
from queuefirst_infra.entity_stack import EntityStack
from queuefirst_infra.registry_stack import RegistryStack
from queuefirst_infra.shared_stack import SharedStack
from queuefirst_infra.validation import validate_registry


@dataclass(frozen=True)
class Stacks:
    registry: RegistryStack
    shared: SharedStack
    admin: AdminStack
    entities: dict[str, EntityStack]


def build(
    app: App,
    application: Application,
    config: InfraConfig,
    env: Environment | None = None,
    *,
    registry: Registry | None = None,
) -> Stacks:
    """Check the registry and the connection budget, then define every stack.

    `registry` is the application's (default: discovered from its entity
    modules). Raises `InfraConfigError` (naming the entity and the setting,
    or the numbers) before any stack is defined.
    """
    registry = registry or application.registry()
    validate_registry(registry)
    check_connection_budget(registry, config)
    config.check()
    name = registry.app
    registry_stack = RegistryStack(
        app,
        naming.registry_stack_name(name),
        registry=registry,
        env=env,
        description=f"{name}: ECR repositories, one per function",
    )
    shared = SharedStack(
        app,
        naming.shared_stack_name(name),
        application=application,
        registry=registry,
        config=config,
        env=env,
        description=f"{name}: network, database, HTTP API, migrations",
    )
    shared.add_stack_dependency(registry_stack)
    admin = AdminStack(
        app,
        naming.admin_stack_name(name),
        registry=registry,
        shared=shared,
        config=config,
        operators_authorizer=shared.route_authorizers[OPERATORS],
        env=env,
        description=f"{name}: the admin console (function, routes, IAM)",
    )
    admin.add_stack_dependency(registry_stack)
    entities: dict[str, EntityStack] = {}
    for entity in registry:
        stack = EntityStack(
            app,
            naming.entity_stack_name(name, entity),
            registry=registry,
            entity=registry[entity],
            shared=shared,
            config=config,
            env=env,
            description=f"{name}: entity {entity} (queue, worker, alarms)",
        )
        stack.add_stack_dependency(registry_stack)
        stack.add_stack_dependency(admin)  # its queue key names the console's role
        entities[entity] = stack
    # DBProxyTargetGroup takes no tags (CloudFormation rejects them).
    Tags.of(app).add("queuefirst:app", name, exclude_resource_types=["AWS::RDS::DBProxyTargetGroup"])
    # AWS's own rule pack on every synthesis: an unacknowledged finding fails it.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return Stacks(registry_stack, shared, admin, entities)
