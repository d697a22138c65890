"""Limits AWS sets, spelled once for the runtime, the local stack and the infra."""

from __future__ import annotations

# SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch and
# ReceiveMessage take at most ten entries.
SQS_BATCH_LIMIT = 10
# Dead letters are kept as long as SQS allows, so they can be inspected and redriven.
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
# API Gateway HTTP API: payload limit and the integration's timeout.
HTTP_API_MAX_BODY_BYTES = 10 * 1024 * 1024
HTTP_API_TIMEOUT_SECONDS = 29
