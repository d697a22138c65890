"""Composition roots of the shop's functions: one module per function image."""
