"""Composition root of a shop worker: `QUEUEFIRST_ENTITY` names its entity.

Imports only that entity's module, so the image holds no other entity's code.
Built at import, so a warm Lambda reuses its engine and clients.
"""

import importlib

from queuefirst.settings import WorkerSettings
from queuefirst.worker.handler import make_handler
from queuefirst.worker.root import build_worker
from shop.entities import NAMES

settings = WorkerSettings()  # read from the environment
if settings.entity not in NAMES:
    raise SystemExit(f"QUEUEFIRST_ENTITY={settings.entity!r} is not a shop entity: {', '.join(NAMES)}")
root = build_worker(importlib.import_module(f"shop.entities.{settings.entity}").ENTITY, settings)
handler = make_handler(root)
