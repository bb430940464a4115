"""API Gateway REST proxy events and a Lambda context, built by hand (stdlib only: the cold
runner imports this before it starts timing nothing heavy)."""

from __future__ import annotations

import time
from typing import Any


def rest_event(
    method: str,
    path: str,
    resource: str,
    key: str = "",
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: str | None = None,
    content_type: str | None = None,
    request_id: str = "bench-request",
) -> dict[str, Any]:
    """One REST (v1) proxy event, as API Gateway hands it to the function."""
    headers = {"Host": "bench.execute-api.us-east-1.amazonaws.com", "Accept": "*/*"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if content_type:
        headers["Content-Type"] = content_type
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": (
            {name: [value] for name, value in query.items()} if query else None
        ),
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/api{path}",
            "requestId": request_id,
            "stage": "api",
            "accountId": "123456789012",
            "apiId": "bench",
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "198.51.100.7", "userAgent": "bench"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def get_file_event(key: str, file_id: str, request_id: str = "bench-get") -> dict[str, Any]:
    return rest_event(
        "GET",
        f"/files/{file_id}",
        "/files/{file_id}",
        key,
        path_parameters={"file_id": file_id},
        request_id=request_id,
    )


def create_file_event(
    key: str, name: str, body: str, request_id: str = "bench-post"
) -> dict[str, Any]:
    return rest_event(
        "POST",
        "/files",
        "/files",
        key,
        query={"name": name},
        body=body,
        content_type="text/plain",
        request_id=request_id,
    )


def list_files_event(key: str, limit: int = 50) -> dict[str, Any]:
    return rest_event("GET", "/files", "/files", key, query={"limit": str(limit)})


def changes_event(key: str) -> dict[str, Any]:
    """GET /changes without a cursor: the feed from its oldest kept change (docs/changes.md)."""
    return rest_event("GET", "/changes", "/changes", key, query={"limit": "100"})


class Context:
    """What the handlers read from Lambda's context object."""

    function_name = "textfiles-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:textfiles-bench"
    log_group_name = "/aws/lambda/textfiles-bench"
    log_stream_name = "bench"

    def __init__(self, budget_ms: int = 28_000, request_id: str = "bench-request") -> None:
        self.aws_request_id = request_id
        self._deadline = time.monotonic() + budget_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
