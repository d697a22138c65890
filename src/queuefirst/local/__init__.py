"""Local stand-ins for the cloud: PostgreSQL and an SQS-compatible server."""
