"""What stands in for AWS's services locally: embedded PostgreSQL, moto's SQS server (with its
fixes, in a process of its own), and the entities' queues made from the registry."""
