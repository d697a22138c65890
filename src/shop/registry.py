"""The whole `shop` registry: for the api, the tools, the local stack and infra.

Workers never import this (it is not in their images): a worker's
composition root imports only its own entity's module.
"""

from __future__ import annotations

import importlib

from queuefirst.entity import Entity
from queuefirst.registry import Registry
from shop import APP
from shop.entities import NAMES


def load_entity(name: str) -> Entity:
    if name not in NAMES:
        raise ValueError(f"unknown shop entity {name!r}; known: {', '.join(NAMES)}")
    module = importlib.import_module(f"shop.entities.{name}")
    entity: Entity = module.ENTITY
    return entity


def load_registry() -> Registry:
    return Registry(APP, [load_entity(name) for name in NAMES])
