"""The notes application's entities."""
