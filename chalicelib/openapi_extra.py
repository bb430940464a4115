"""The OpenAPI document's pages, GET /usage, and an example for every operation."""

from __future__ import annotations

from typing import Any

_ID = "3f2a9c0e5b7d41e8a6c4f1b2d3e4a5b6"
_SHA = "9d5ed678fe57bcca610140957afab571e8f5d9e4b5c9f0a1b2c3d4e5f6a7b8c9"
_FILE = {
    "id": _ID,
    "name": "todo.txt",
    "size": 26,
    "sha256": _SHA,
    "etag": f'"{_SHA}"',
    "version": 2,
    "created_at": "2026-11-23T09:00:00Z",
    "updated_at": "2026-11-23T10:30:00Z",
    "expires_at": "2026-12-23T10:30:00Z",
}
_TASK = {
    "id": "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
    "kind": "export",
    "state": "running",
    "progress": {"done": 120, "total": 300, "message": "120 of 300 files"},
    "result": None,
    "error": None,
    "created_at": "2026-11-23T10:31:00Z",
    "updated_at": "2026-11-23T10:31:04Z",
}
_DONE = {
    **_TASK,
    "state": "succeeded",
    "progress": {"done": 300, "total": 300, "message": "300 files archived"},
    "result": {
        "download_url": "https://textfiles-prod.s3.amazonaws.com/exports/...&X-Amz-Signature=...",
        "url_expires_at": "2026-11-23T10:46:10Z",
        "archive_expires_at": "2026-11-30T10:31:10Z",
        "files": 300,
        "skipped": 0,
        "size": 48213,
    },
}
_UPLOAD = {
    "upload_id": "7e6d5c4b3a291807f6e5d4c3b2a19080",
    "name": "big.txt",
    "url": "https://textfiles-prod.s3.amazonaws.com/tenants/acme/files/...&X-Amz-Signature=...",
    "method": "PUT",
    "headers": {"Content-Type": "text/plain; charset=utf-8"},
    "max_bytes": 104857600,
    "expires_at": "2026-11-23T10:45:00Z",
    "complete_url": "/files/uploads/7e6d5c4b3a291807f6e5d4c3b2a19080/complete",
}
USAGE = {
    "files": {"used": 42, "limit": 10000},
    "bytes": {"used": 1843200, "limit": 1073741824},
    "running_tasks": {"used": 1, "limit": 2},
    "rate": {"used": 17, "limit": 600, "remaining": 583, "window_seconds": 60, "reset_seconds": 38},
    "max_inline_bytes": 5242880,
    "max_upload_bytes": 104857600,
}
_HTML = '<!doctype html>\n<html lang="en">...'

# operationId -> (status -> example of that response's body, example of the request body)
EXAMPLES: dict[str, tuple[dict[str, Any], Any]] = {
    "createFile": ({"201": {**_FILE, "version": 1}}, "milk\neggs\nbread\n"),
    "listFiles": ({"200": {"items": [_FILE], "next_cursor": "eyJ1IjoxNzY0NDk..."}}, None),
    "readFile": ({"200": "milk\neggs\nbread\nbutter\n"}, None),
    "replaceFile": ({"200": _FILE}, "milk\neggs\nbread\nbutter\n"),
    "renameFile": ({"200": {**_FILE, "name": "shopping.txt"}}, {"name": "shopping.txt"}),
    "deleteFile": ({}, None),
    "readMetadata": ({"200": _FILE}, None),
    "startUpload": ({"201": _UPLOAD}, None),
    "completeUpload": ({"201": {**_FILE, "name": "big.txt", "size": 7340032}}, None),
    "putLocalBlob": ({}, "a large body\n"),
    "getLocalBlob": ({}, None),
    "health": (
        {
            "200": {"status": "ok", "checks": {"database": {"status": "ok"}}},
            "503": {
                "status": "unavailable",
                "checks": {"database": {"status": "unavailable", "error": "timeout"}},
            },
        },
        None,
    ),
    "openapi": ({"200": {"openapi": "3.0.3", "info": {"title": "textfiles"}, "paths": {}}}, None),
    "startExport": ({"202": _TASK}, None),
    "getTask": ({"200": _DONE}, None),
    "cancelTask": ({"200": {**_TASK, "state": "cancelled"}}, None),
    "getUsage": ({"200": USAGE}, None),
    "webPage": ({"200": _HTML}, None),
    "apiReference": ({"200": _HTML}, None),
    "staticAsset": ({"200": '"use strict";\n...'}, None),
}
ERRORS = {
    "400": ("BadRequest", "The name must be 1-255 characters, without '/' or control characters."),
    "401": ("Unauthorized", "The API key is not valid."),
    "403": ("QuotaExceeded", "Quota exceeded: files (10000 of 10000 used)."),
    "404": ("NotFound", f"No file {_ID}."),
    "409": ("Conflict", "A file named 'todo.txt' already exists."),
    "412": ("PreconditionFailed", "The file changed since you read it (If-Match does not match)."),
    "413": ("PayloadTooLarge", "The body is larger than 5242880 bytes: use POST /files/uploads."),
    "415": ("UnsupportedMediaType", "The body is not plaintext (valid UTF-8 without NUL bytes)."),
    "429": ("TooManyRequests", "Rate limit of 600 requests per 60 s exceeded; retry in 38 s."),
    "503": ("ServiceUnavailable", "A backend is unavailable (database); retry later."),
}


def error_example(status: str) -> dict[str, str]:
    code, message = ERRORS.get(status, ("BadRequest", "Bad request."))
    return {"Code": code, "Message": message}


def _usage_schema() -> dict[str, Any]:
    count = {"type": "integer", "minimum": 0}
    meter = {
        "type": "object",
        "required": ["used", "limit"],
        "properties": {"used": count, "limit": count},
    }
    rate_fields = ("used", "limit", "remaining", "window_seconds", "reset_seconds")
    return {
        "type": "object",
        "required": [
            "files",
            "bytes",
            "running_tasks",
            "rate",
            "max_inline_bytes",
            "max_upload_bytes",
        ],
        "properties": {
            "files": meter,
            "bytes": {**meter, "description": "Bytes stored."},
            "running_tasks": {**meter, "description": "Queued or running tasks."},
            "rate": {
                "type": "object",
                "description": "This rate-limit window, counting this request.",
                "required": list(rate_fields),
                "properties": {name: count for name in rate_fields},
            },
            "max_inline_bytes": {**count, "description": "Larger bodies need an upload."},
            "max_upload_bytes": count,
        },
    }


def schemas() -> dict[str, Any]:
    return {"Usage": _usage_schema()}


def _page(op_id: str, summary: str, media: str) -> dict[str, Any]:
    ok = {"description": summary, "content": {media: {"schema": {"type": "string"}}}}
    return {"operationId": op_id, "summary": summary, "responses": {"200": ok}, "security": []}


def paths(op: Any, json: Any, ref: Any, errors: tuple[str, ...]) -> dict[str, Any]:
    """The new routes, built with openapi.py's own helpers (passed in: no import cycle)."""
    asset = _page("staticAsset", "A script or style sheet of the pages.", "text/javascript")
    asset["responses"]["200"]["content"]["text/css"] = {"schema": {"type": "string"}}
    asset["responses"]["404"] = json(ref("Error"), "No such asset.")
    asset["parameters"] = [
        {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    usage = op(
        "getUsage",
        "The tenant's files, bytes and running tasks against its quotas; the rate-limit window.",
        {"200": json(ref("Usage"), "Usage and limits.")},
        errors,
    )
    return {
        "/": {"get": _page("webPage", "The web page (HTML).", "text/html")},
        "/docs": {"get": _page("apiReference", "This reference, rendered (HTML).", "text/html")},
        "/static/{name}": {"get": asset},
        "/usage": {"get": usage},
    }


def _with_example(target: dict[str, Any], example: Any) -> dict[str, Any]:
    """A copy of a response or request body with the example on each media type (parts of
    the document are shared between operations, so nothing is changed in place)."""
    content = {media: {**spec, "example": example} for media, spec in target["content"].items()}
    return {**target, "content": content}


def add_examples(doc_paths: dict[str, Any]) -> None:
    """Set each operation's examples: its bodies, and an error's shape on every error."""
    for ops in doc_paths.values():
        for operation in ops.values():
            responses, request = EXAMPLES[operation["operationId"]]
            if request is not None and "requestBody" in operation:
                operation["requestBody"] = _with_example(operation["requestBody"], request)
            for status, response in list(operation["responses"].items()):
                example = responses.get(status, error_example(status) if status >= "400" else None)
                if example is not None and "content" in response:
                    operation["responses"][status] = _with_example(response, example)
