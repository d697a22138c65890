"""Composition root of the api function, built at import."""

from queuefirst.api.root import build_api
from queuefirst.model.application import load_application
from queuefirst.runtime.settings import ApiSettings

handler = build_api(load_application().registry(), ApiSettings.from_environment())
