"""queuefirst: queue-first serverless back ends on AWS.

Every business write goes through its entity's SQS queue to one worker
function per entity; the api function only validates, reads and enqueues.
"""
