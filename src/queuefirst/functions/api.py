"""Composition root of the api function, built at import.

The database connection opens here, at init, so a database older than the
image needs stops the function before it answers a single request.
"""

from queuefirst.api.root import build_api
from queuefirst.model.application import load_application
from queuefirst.runtime.settings import ApiSettings

settings = ApiSettings.from_environment()
handler = build_api(load_application().registry(), settings, open_now=True)
