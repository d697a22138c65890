"""The SQS event source mapping, one per worker: pollers that receive batches, invoke the
worker and delete what it settled, and the SQS events they build."""
