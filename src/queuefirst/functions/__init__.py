"""Composition roots of the functions, one module per function image.

Each builds its function at import (so a warm Lambda reuses its engine and
clients) from the environment: `QUEUEFIRST_APPLICATION` names the
application, and a worker's `QUEUEFIRST_ENTITY` its entity.
"""
