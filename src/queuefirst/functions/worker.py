"""Composition root of a worker: `QUEUEFIRST_ENTITY` names its entity.

Imports only that entity's module, so the image holds no other entity's code.
"""

from queuefirst.model.application import load_application
from queuefirst.runtime.settings import WorkerSettings
from queuefirst.worker.handler import make_handler
from queuefirst.worker.root import build_worker

settings = WorkerSettings.from_environment()
application = load_application()
handler = make_handler(build_worker(application.name, application.load_entity(settings.entity), settings))
