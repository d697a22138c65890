"""AWS CDK app for queuefirst, generated from an application's entity registry.

Stacks (names from `queuefirst_infra.naming`):

- ``<app>-registry``: one ECR repository per function image.
- ``<app>-shared``: VPC without NAT (interface endpoints only), Aurora
  PostgreSQL Serverless v2, RDS Proxy (IAM auth end to end, TLS required),
  the api function behind an HTTP API, the migrations function run on
  every deploy whose image changed, and the alarm topic every alarm notifies.
- ``<app>-<entity>``, one per entity: queue + dead-letter queue, the worker
  function, its ``live`` alias fed by the SQS event source (moved only after
  the new version's init met its schema), alarms and a dashboard.

Everything per entity is derived from the registry; nothing is written out
per entity by hand.
"""
