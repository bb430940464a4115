"""The answers' building blocks: bytes bodies, JSON, and whether this request asked for
RFC 9457 problem details (a leaf: chalicelib/edge/http.py and failures.py both use it)."""

from __future__ import annotations

import contextvars
import json
from typing import Any

from chalice.app import Response

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
PROBLEM = "application/problem+json"
# Whether this request asked for problem details (its Accept names the type).
_problem: contextvars.ContextVar[bool] = contextvars.ContextVar("problem", default=False)


def wants_problem(asked: bool) -> None:
    _problem.set(asked)


def problem_wanted() -> bool:
    return _problem.get()


def response(
    body: str | bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Every body leaves as bytes: Chalice base64-encodes it for API Gateway (see install)."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return Response(body=raw, status_code=status, headers=dict(headers or {}))


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return response(
        json.dumps(data, separators=(",", ":")), status, {"Content-Type": JSON, **(headers or {})}
    )
