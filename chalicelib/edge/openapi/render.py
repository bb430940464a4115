"""The OpenAPI 3 document of the HTTP API, rendered on request from the route table
(chalicelib/edge/openapi/table.py), the error classes (chalicelib/errors.py: status, code,
description) and the schemas and examples (chalicelib/edge/openapi/schemas.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.edge.openapi import ranges
from chalicelib.edge.openapi import schemas as extra
from chalicelib.edge.openapi.entries import Body, Param, Reply, Route, Schema, Setting
from chalicelib.edge.openapi.table import ROUTES
from chalicelib.errors import (
    BackendUnavailable,
    DomainError,
    KeyInUse,
    RangeNotSatisfiable,
    RateLimited,
)

RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
HEADERS = (
    "Location", "ETag", "Last-Modified", "Retry-After", "X-Request-Id", *RATE_HEADERS,
    *ranges.HEADER_NOTES,
)  # fmt: skip
REPLAYED = "Idempotent-Replayed"  # "true" on an answer replayed for an Idempotency-Key
# Operations grouped by the first part of their path (the reference's sections).
TAGS = {
    "files": "Files: create, list, search, read, replace, rename, delete.",
    "uploads": "Bodies larger than the inline limit, through a presigned link.",
    "tasks": "Background tasks: exports, their progress, cancelling.",
    "usage": "What the tenant uses against its quotas.",
    "service": "Health, this document, the web page and the local links.",
}
_SECTIONS = {"files": "files", "uploads": "uploads", "exports": "tasks", "tasks": "tasks"}
_SECTIONS.update(usage="usage", trash="files", names="files")


def tag(path: str) -> str:
    parts = path.strip("/").split("/")
    if parts[:2] == ["files", "uploads"] or parts[2:] == ["uploads"]:
        return "uploads"
    return _SECTIONS.get(parts[0], "service")


# The errors whose answer says when to try again.
RETRY: tuple[type[DomainError], ...] = (RateLimited, BackendUnavailable, KeyInUse)


def _ref(name: str, kind: str = "schemas") -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _headers(names: Iterable[str]) -> dict[str, Any]:
    return {name: _ref(name, "headers") for name in names}


def _content(schema: str | Schema, media: Iterable[str], example: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"schema": _ref(schema) if isinstance(schema, str) else schema}
    if example is not None:
        spec["example"] = example
    return {name: dict(spec) for name in media}


def _reply(reply: Reply, example: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": reply.description}
    if reply.schema is not None:
        out["content"] = _content(reply.schema, reply.media, example)
    if reply.headers:
        out["headers"] = _headers(reply.headers)
    return out


def error_reply(classes: list[type[DomainError]]) -> dict[str, Any]:
    """The answer for one status; where classes share it, the description says each meaning."""
    if len(classes) == 1:
        description = classes[0].description
    else:
        description = " ".join(f"{cls.code}: {cls.description}" for cls in classes)
    retry = ("Retry-After",) if any(issubclass(cls, RETRY) for cls in classes) else ()
    if any(issubclass(cls, RangeNotSatisfiable) for cls in classes):
        retry = ("Content-Range",)  # bytes */SIZE
    reply = Reply(description, "Error", headers=retry)
    return _reply(reply, extra.error_example(classes[0]))


def errors(classes: Iterable[type[DomainError]]) -> dict[str, Any]:
    by_status: dict[str, list[type[DomainError]]] = {}
    for cls in classes:
        by_status.setdefault(str(cls.status), []).append(cls)
    return {status: error_reply(group) for status, group in sorted(by_status.items())}


def _settled(schema: Schema) -> Schema:
    """The schema with the deployment's settings filled in."""
    from chalicelib import config

    return {k: config.get_int(v.name) if isinstance(v, Setting) else v for k, v in schema.items()}


def _param(param: Param) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": param.name,
        "in": param.where,
        "required": param.required or param.where == "path",
        "schema": _settled(param.schema),
    }
    if param.description:
        out["description"] = param.description
    return out


def _body(body: Body, example: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "required": True,
        "content": _content(body.schema, [body.media], example),
    }
    binary: Schema = {"type": "string", "format": "binary"}
    out["content"].update(_content(binary, body.binary, None))
    if body.description:
        out["description"] = body.description
    return out


def operation(route: Route) -> dict[str, Any]:
    examples, request = extra.EXAMPLES[route.op_id]
    responses = {s: _reply(r, examples.get(s)) for s, r in route.replies.items()}
    responses.update(errors(route.all_errors()))
    op: dict[str, Any] = {"operationId": route.op_id, "summary": route.summary}
    op.update(description=route.summary, tags=[tag(route.path)], responses=responses)
    for status, response in responses.items():  # every answer: the id its log line carries
        response["headers"] = {**response.get("headers", {}), **_headers(["X-Request-Id"])}
        if status in extra.LINKS.get(route.op_id, {}):
            response["links"] = extra.LINKS[route.op_id][status]
    if route.params:
        op["parameters"] = [_param(p) for p in route.params]
    if route.body:
        op["requestBody"] = _body(route.body, request)
    if not route.secured:
        op["security"] = []
    else:  # every authenticated answer carries the tenant's rate-limit state
        for status, response in responses.items():
            if status != "401":
                response["headers"] = {**response.get("headers", {}), **_headers(RATE_HEADERS)}
    return op


def paths() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        out.setdefault(route.path, {})[route.method.lower()] = operation(route)
    return out


def document() -> dict[str, Any]:
    header = {"schema": {"type": "string"}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "textfiles",
            "version": "1.0.0",
            "description": "A CRUD API for a collection of plaintext files.",
            "contact": {"name": "The operators of this deployment"},
        },
        # The document is served by the API it describes: paths are relative to it.
        "servers": [{"url": "/", "description": "this deployment"}],
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "paths": paths(),
        "components": {
            "schemas": dict(extra.SCHEMAS),
            "headers": {
                name: {**header, "description": ranges.HEADER_NOTES.get(name, name)}
                for name in (*HEADERS, REPLAYED)
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}],
    }
