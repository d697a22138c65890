"""Composition root of the admin function (the console), built at import.

The database connection opens here, at init, so a database older than the
image needs stops the function before it answers a single request.
"""

from queuefirst.admin.root import build_admin
from queuefirst.admin.settings import AdminSettings
from queuefirst.model.application import load_application

settings = AdminSettings.from_environment()
handler = build_admin(load_application().registry(), settings, open_now=True)
