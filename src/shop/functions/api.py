"""Composition root of the shop's api function, built at import."""

from queuefirst.api.root import build_api
from queuefirst.settings import ApiSettings
from shop.registry import load_registry

handler = build_api(load_registry(), ApiSettings())  # settings from the environment
