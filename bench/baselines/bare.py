"""The floor: a bare Lambda handler that answers JSON."""

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = json.dumps({"hello": (event.get("pathParameters") or {}).get("file_id")})
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}
