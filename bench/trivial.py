"""The cheapest function an HTTP API can front: the gateway's own ceiling in bench/gateway_load.py."""

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"ok": true}'}
