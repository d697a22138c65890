"""The schema and its migrations: SQLAlchemy tables generated from the registry, Alembic, grants.

The migrations function's own (`queuefirst.schema.function`), and the tools':
only the image that runs migrations (the api's, which the migrations function
shares) carries this folder and SQLAlchemy and Alembic with it. The functions
themselves never import it: they run fixed SQL (`queuefirst.store.statements`).
"""
