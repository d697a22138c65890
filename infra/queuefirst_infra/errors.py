"""The one error type that stops a synth with a message for a human."""

from __future__ import annotations


class InfraConfigError(ValueError):
    """The registry or the infrastructure settings cannot be deployed as declared."""
