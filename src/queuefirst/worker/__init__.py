"""The worker function: one handler, configured per entity."""
