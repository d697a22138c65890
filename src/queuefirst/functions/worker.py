"""Composition root of a worker: `QUEUEFIRST_ENTITY` names its entity.

Imports only that entity's module, so the image holds no other entity's code.
The database connection opens here, at init, so a database older than the
image needs stops the function before it takes a single record.
"""

from queuefirst.model.application import load_application
from queuefirst.runtime.settings import WorkerSettings
from queuefirst.store.database import open_at_init
from queuefirst.worker.handler import make_handler
from queuefirst.worker.root import build_worker

settings = WorkerSettings.from_environment()
application = load_application()
root = build_worker(application.name, application.load_entity(settings.entity, rules=True), settings)
open_at_init(root.database, checked=settings.schema_revision is not None, logger=root.logger)
handler = make_handler(root)
