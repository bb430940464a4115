"""Cross-origin requests (CORS): a browser app on another origin may call the API when its
origin is listed in CORS_ALLOWED_ORIGINS (per stage; empty: none, `*`: any). Every path
answers a preflight (OPTIONS); every answer to a listed origin says so. The key still
authorizes each request: CORS only lets the browser read the answers."""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, Request, Response

from chalicelib.edge.responses import vary

# What a browser app may send and read (RFC 9110 conditions, the rate and request headers).
ALLOW_HEADERS = (
    "Authorization, X-Api-Key, Content-Type, If-Match, If-None-Match, Idempotency-Key,"
    " Range, If-Range"
)
EXPOSE_HEADERS = (
    "ETag, Last-Modified, Location, Retry-After, X-Request-Id, Content-Range, Accept-Ranges,"
    " RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
)
MAX_AGE_S = "600"


def allowed_origin(origin: str | None) -> str | None:
    """The origin to allow in an answer to `origin`, if the stage lists it."""
    from chalicelib import config

    listed = [o.strip().rstrip("/") for o in config.get("CORS_ALLOWED_ORIGINS").split(",")]
    if not origin or not any(listed):
        return None
    return origin if origin in listed or "*" in listed else None


def add_headers(request: Request, response: Response) -> None:
    """An answer to a listed origin: the browser may read it, and these headers."""
    origin = allowed_origin(request.headers.get("origin"))
    vary(response, "Origin")
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS


# The app add_preflights() gave routes to: a preflight reads the methods of its path there.
_APP: list[Chalice] = []


def preflight(**_path: Any) -> Response:
    """OPTIONS on any path: 204 with what a listed origin may send; 403 for any other."""
    app = _APP[0]
    request = app.current_request
    assert request is not None
    path = (request.context or {}).get("resourcePath", "")
    methods = sorted(m for m in app.routes.get(path, {}) if m != "OPTIONS")
    allow = ", ".join([*methods, "OPTIONS"])
    asked = request.headers.get("access-control-request-method", "")
    if allowed_origin(request.headers.get("origin")) is None or asked not in methods:
        refused: dict[str, str | list[str]] = {"Allow": allow}
        return Response(body=b"", status_code=403, headers=refused)
    headers: dict[str, str | list[str]] = {
        "Access-Control-Allow-Methods": ", ".join(methods),
        "Access-Control-Allow-Headers": ALLOW_HEADERS,
        "Access-Control-Max-Age": MAX_AGE_S,
        "Allow": allow,
    }
    return Response(body=b"", status_code=204, headers=headers)


def add_preflights(app: Chalice) -> None:
    """An OPTIONS route beside every path's routes (call it once every route is registered)."""
    _APP[:] = [app]
    for number, (path, entries) in enumerate(sorted(app.routes.items())):
        if "OPTIONS" not in entries:
            app.route(path, methods=["OPTIONS"], name=f"preflight_{number}")(preflight)
