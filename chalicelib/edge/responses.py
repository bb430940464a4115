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


def vary(answer: Response, field: str) -> None:
    """Add a request field the answer depends on to its Vary."""
    present = [v.strip() for v in str(answer.headers.get("Vary", "")).split(",") if v.strip()]
    if field.lower() not in (v.lower() for v in present):
        answer.headers["Vary"] = ", ".join([*present, field])


def for_transport(method: str, answer: Response) -> Response:
    """Every answer as it may travel: a HEAD's without its body (its Content-Length says how
    long GET's is); one with a body may be compressed on the way (API Gateway, or the local
    server, when the client accepts gzip), so it varies with Accept-Encoding."""
    body = answer.body if isinstance(answer.body, bytes) else b""
    if method == "HEAD":
        answer.headers.setdefault("Content-Length", str(len(body)))
        answer.body = b""
        if answer.headers["Content-Length"] == "0":
            return answer
    elif not body:
        return answer
    if "Content-Encoding" not in answer.headers:
        vary(answer, "Accept-Encoding")
    return answer


def content_type(filename: str) -> str:
    return "application/zip" if filename.endswith(".zip") else TEXT


def redirect(url: str, headers: dict[str, str] | None = None) -> Response:
    """A temporary redirect to a short-lived link (never cached: the link expires)."""
    extra = {"Location": url, "Cache-Control": "private, no-store"}
    return response(b"", 307, {**(headers or {}), **extra})
