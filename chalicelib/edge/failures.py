"""Domain errors as HTTP answers, in one place: our JSON shape (`Code`, `Message` and the
error's fields), or RFC 9457 problem details when the request asked for them."""

from __future__ import annotations

import json
from typing import Any

from chalice.app import Request, Response

from chalicelib.edge.responses import PROBLEM, json_response, problem_wanted, response
from chalicelib.errors import DomainError


def error_response(exc: DomainError) -> Response:
    from chalicelib import config
    from chalicelib.errors import BackendUnavailable, KeyInUse, RangeNotSatisfiable, RateLimited

    headers: dict[str, str] = {}
    if isinstance(exc, KeyInUse):
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, RateLimited):
        headers.update(exc.headers)
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, BackendUnavailable):
        headers["Retry-After"] = str(config.retry_after_seconds())
    elif isinstance(exc, RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.size}"
    return _ours({"Code": exc.code, "Message": exc.message, **exc.extra}, exc.status, headers)


def _problem(body: dict[str, Any], status: int, headers: dict[str, str]) -> Response:
    """RFC 9457 problem details: the standard members, our Code and Message beside them."""
    problem = {"type": "about:blank", "title": body["Code"], "status": status}
    problem["detail"] = body["Message"]
    text = json.dumps({**problem, **body}, separators=(",", ":"))
    return response(text, status, {"Content-Type": PROBLEM, **headers})


def answer(exc: Exception) -> Response:
    """The HTTP answer to one of the core's exceptions; any other is re-raised (a 500)."""
    from chalicelib import logs
    from chalicelib.config import MissingSetting
    from chalicelib.errors import BackendUnavailable, DomainError

    if isinstance(exc, MissingSetting):
        logs.error("configuration incomplete", error=str(exc))
        return error_response(BackendUnavailable("service configuration"))
    if not isinstance(exc, DomainError):
        raise exc
    if isinstance(exc, BackendUnavailable):
        logs.error("backend unavailable", component=exc.component, error=exc.detail)
    return error_response(exc)


def in_our_words(request: Request, refused: Response, takes: list[str]) -> Response:
    """Chalice's own 405 and 415, in our shape, saying how to fix the request."""
    if refused.status_code == 405:
        return not_allowed(request, refused)
    sent = request.headers.get("content-type") or "no Content-Type"
    wanted = " or ".join(takes) or "another media type"
    message = f"This route takes a {wanted} body; the request sent {sent}."
    if "text/plain" in takes:
        message += " With curl: -H 'Content-Type: text/plain' --data-binary @FILE."
    return _ours({"Code": "UnsupportedMediaType", "Message": message}, 415, {})


def _ours(body: dict[str, Any], status: int, headers: dict[str, str]) -> Response:
    if problem_wanted():
        return _problem(body, status, headers)
    return json_response(body, status, headers)


def not_allowed(request: Request, refused: Response) -> Response:
    """A method the path does not have: 405 with `Allow`, in our error shape."""
    allow = str(refused.headers.get("Allow", ""))
    methods = [m for m in allow.split(", ") if m and m != "OPTIONS"]
    path = request.context.get("resourcePath", "") if request.context else ""
    message = f"{request.method} is not allowed on {path}: use {' or '.join(methods)}."
    return _ours({"Code": "MethodNotAllowed", "Message": message}, 405, {"Allow": allow})
