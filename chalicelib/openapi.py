"""The OpenAPI 3 document of the HTTP API, built on request (nothing at import)."""

from __future__ import annotations

from typing import Any

_ERRORS = {
    "400": "Bad input: a parameter, name, cursor or JSON body is not valid.",
    "401": "No API key, or the key is not valid.",
    "403": "Forbidden: a quota (files, bytes, running tasks, export archives) is full (the body"
    " says which, with used and limit), or a signed link is forged or expired.",
    "404": "No such file for this tenant (another tenant's id answers 404 too).",
    "409": "The name is taken by another file of the tenant.",
    "412": "If-Match names a body the file no longer has.",
    "413": "The body is larger than the inline limit.",
    "415": "The body is not plaintext (valid UTF-8, no NUL byte) or not text/plain.",
    "429": "Too many requests: wait for Retry-After seconds.",
    "503": "A backend is unavailable: retry after Retry-After seconds.",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(
    schema: dict[str, Any], description: str, headers: list[str] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = {h: {"$ref": f"#/components/headers/{h}"} for h in headers}
    return response


def _errors(*codes: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code in codes:
        headers = ["Retry-After"] if code in ("429", "503") else None
        out[code] = _json(_ref("Error"), _ERRORS[code], headers)
    return out


def _op(
    op_id: str,
    summary: str,
    responses: dict[str, Any],
    errors: tuple[str, ...],
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    secured: bool = True,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "responses": {**responses, **_errors(*errors)},
    }
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = body
    if not secured:
        operation["security"] = []
    else:
        # Every authenticated answer carries the tenant's rate-limit state.
        for name, response in operation["responses"].items():
            if name != "401":
                response = operation["responses"][name] = dict(response)
                response["headers"] = {**response.get("headers", {}), **_RATE_HEADERS}
    return operation


_RATE_HEADERS = {
    name: {"$ref": f"#/components/headers/{name}"}
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
}


def _param(
    name: str, where: str, schema: dict[str, Any], description: str, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": schema,
        "description": description,
    }


FILE_ID = _param("file_id", "path", {"type": "string"}, "The file's id.")
# What files.validate_name accepts: no "/", no control character (Unicode category Cc).
NAME_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": "^[^/\\u0000-\\u001f\\u007f-\\u009f]+$",
}
NAME = _param(
    "name",
    "query",
    NAME_SCHEMA,
    "1-255 characters, no '/', no control characters, unique per tenant.",
    required=True,
)
TEXT_BODY = {
    "required": True,
    "content": {"text/plain": {"schema": {"type": "string"}}},
    "description": "The file body: valid UTF-8 without NUL bytes, at most MAX_INLINE_BYTES.",
}
COMMON = ("401", "429", "503")


def _schemas() -> dict[str, Any]:
    text = {"type": "string"}
    time = {"type": "string", "format": "date-time"}
    return {
        "Error": {
            "type": "object",
            "required": ["Code", "Message"],
            "properties": {
                "Code": text,
                "Message": text,
                "quota": {**text, "description": "QuotaExceeded: files, bytes, tasks or exports."},
                "used": {"type": "integer"},
                "limit": {"type": "integer"},
            },
        },
        "File": {
            "type": "object",
            "required": [
                "id",
                "name",
                "size",
                "sha256",
                "etag",
                "version",
                "created_at",
                "updated_at",
                "expires_at",
            ],
            "properties": {
                "id": text,
                "name": text,
                "size": {"type": "integer", "minimum": 0},
                "sha256": text,
                "etag": text,
                "version": {"type": "integer", "minimum": 1},
                "created_at": time,
                "updated_at": time,
                "expires_at": {**time, "description": "Last body write + the retention period."},
            },
        },
        "FileList": {
            "type": "object",
            "required": ["items", "next_cursor"],
            "properties": {
                "items": {"type": "array", "items": _ref("File")},
                "next_cursor": {"type": "string", "nullable": True},
            },
        },
        "Upload": {
            "type": "object",
            "required": [
                "upload_id",
                "name",
                "size",
                "url",
                "method",
                "headers",
                "max_bytes",
                "expires_at",
                "complete_url",
            ],
            "properties": {
                "upload_id": text,
                "name": text,
                "size": {"type": "integer", "minimum": 0},
                "url": text,
                "method": {"type": "string", "enum": ["PUT"]},
                "headers": {"type": "object", "additionalProperties": text},
                "max_bytes": {"type": "integer"},
                "expires_at": time,
                "complete_url": text,
            },
        },
        "Rename": {
            "type": "object",
            "required": ["name"],
            "additionalProperties": False,
            "properties": {"name": NAME_SCHEMA},
        },
        "Health": {
            "type": "object",
            "required": ["status", "checks"],
            "properties": {
                "status": {"type": "string", "enum": ["ok", "unavailable"]},
                "checks": {"type": "object", "additionalProperties": {"type": "object"}},
            },
        },
    }


def _paths() -> dict[str, Any]:
    file_ok = _json(_ref("File"), "The file's metadata.", ["ETag"])
    text_ok = {
        "description": "The body.",
        "headers": {h: {"$ref": f"#/components/headers/{h}"} for h in ("ETag", "Last-Modified")},
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
    return {
        "/files": {
            "post": _op(
                "createFile",
                "Create a file from a text/plain body.",
                {"201": _json(_ref("File"), "Created.", ["Location", "ETag"])},
                ("400", "403", "409", "413", "415", *COMMON),
                [NAME],
                TEXT_BODY,
            ),
            "get": _op(
                "listFiles",
                "List files, newest first, a page at a time.",
                {"200": _json(_ref("FileList"), "A page of metadata.")},
                ("400", *COMMON),
                [
                    _param(
                        "limit",
                        "query",
                        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
                        "Page size.",
                    ),
                    _param(
                        "cursor", "query", {"type": "string"}, "next_cursor of the previous page."
                    ),
                    _param("prefix", "query", {"type": "string"}, "Only names starting with this."),
                    _param(
                        "q",
                        "query",
                        {"type": "string"},
                        "Full-text search: every word must occur in the body.",
                    ),
                ],
            ),
        },
        "/files/{file_id}": {
            "get": _op(
                "readFile",
                "Read a file's body.",
                {
                    "200": text_ok,
                    "304": {"description": "Not modified (If-None-Match)."},
                    "307": {
                        "description": "A body too large for a Lambda response: a short-lived"
                        " link (Location) that reads it, byte for byte.",
                        "headers": {
                            h: {"$ref": f"#/components/headers/{h}"} for h in ("Location", "ETag")
                        },
                    },
                },
                ("404", *COMMON),
                [FILE_ID, _param("If-None-Match", "header", {"type": "string"}, "ETags you hold.")],
            ),
            "put": _op(
                "replaceFile",
                "Replace the body; resets retention.",
                {"200": file_ok},
                ("403", "404", "412", "413", "415", *COMMON),
                [
                    FILE_ID,
                    _param(
                        "If-Match",
                        "header",
                        {"type": "string"},
                        "Only if the body still has this ETag.",
                    ),
                ],
                TEXT_BODY,
            ),
            "patch": _op(
                "renameFile",
                "Rename a file.",
                {"200": file_ok},
                ("400", "404", "409", "415", *COMMON),
                [FILE_ID],
                {"required": True, "content": {"application/json": {"schema": _ref("Rename")}}},
            ),
            "delete": _op(
                "deleteFile",
                "Delete a file.",
                {"204": {"description": "Deleted."}},
                ("404", *COMMON),
                [FILE_ID],
            ),
        },
        "/files/{file_id}/metadata": {
            "get": _op(
                "readMetadata", "A file's metadata.", {"200": file_ok}, ("404", *COMMON), [FILE_ID]
            ),
        },
        "/files/uploads": {
            "post": _op(
                "startUpload",
                "A presigned PUT link for a body larger than the inline limit.",
                {"201": _json(_ref("Upload"), "Upload the body to url, then POST complete_url.")},
                ("400", "403", "409", "413", *COMMON),
                [
                    NAME,
                    _param(
                        "size",
                        "query",
                        {"type": "integer", "minimum": 0},
                        "The body's length in bytes (at most MAX_UPLOAD_BYTES): the link is"
                        " signed for it and it counts against the byte quota until completed.",
                        required=True,
                    ),
                ],
            ),
        },
        "/files/uploads/{upload_id}/complete": {
            "post": _op(
                "completeUpload",
                "Validate the uploaded body and create the file.",
                {
                    "201": _json(_ref("File"), "Created.", ["Location", "ETag"]),
                    "200": _json(_ref("File"), "Already completed: the same file.", ["ETag"]),
                },
                ("403", "404", "409", "413", "415", *COMMON),
                [_param("upload_id", "path", {"type": "string"}, "From POST /files/uploads.")],
            ),
        },
        "/blobs/{token}": {
            "put": _op(
                "putLocalBlob",
                "Local folder driver only: the upload link's target.",
                {"200": {"description": "Stored."}},
                ("403", "404", "413"),
                [_param("token", "path", {"type": "string"}, "The signed link token.")],
                {"required": True, "content": {"*/*": {"schema": {"type": "string"}}}},
                secured=False,
            ),
            "get": _op(
                "getLocalBlob",
                "Local folder driver only: a download link's target.",
                {
                    "200": {
                        "description": "The bytes.",
                        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                    }
                },
                ("403", "404"),
                [_param("token", "path", {"type": "string"}, "The signed link token.")],
                secured=False,
            ),
        },
        "/health": {
            "get": _op(
                "health",
                "Deep check of every backend (a healthy report may be up to 5 s old).",
                {
                    "200": _json(_ref("Health"), "Every backend answers."),
                    "503": _json(_ref("Health"), "A backend failed.", ["Retry-After"]),
                },
                ("429",),
                secured=False,
            ),
        },
        "/openapi.json": {
            "get": _op(
                "openapi",
                "This document.",
                {"200": _json({"type": "object"}, "The OpenAPI 3 document.")},
                (),
                secured=False,
            ),
        },
    }


def document() -> dict[str, Any]:
    from chalicelib import openapi_extra as extra

    header = {"schema": {"type": "string"}}
    paths = {**_paths(), **_task_paths(), **extra.paths(_op, _json, _ref, COMMON)}
    extra.add_examples(paths)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "textfiles",
            "version": "1.0.0",
            "description": "A CRUD API for a collection of plaintext files.",
        },
        "paths": paths,
        "components": {
            "schemas": {**_schemas(), **_task_schemas(), **extra.schemas()},
            "headers": {
                name: {**header, "description": name}
                for name in (
                    "Location",
                    "ETag",
                    "Last-Modified",
                    "Retry-After",
                    "RateLimit-Limit",
                    "RateLimit-Remaining",
                    "RateLimit-Reset",
                )
            },
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}],
    }


# --- background tasks (chalicelib/tasks_api.py, docs/tasks.md) --------------------------


def _task_schemas() -> dict[str, Any]:
    time = {"type": "string", "format": "date-time"}
    count = {"type": "integer", "minimum": 0}
    return {
        "Task": {
            "type": "object",
            "required": [
                "id",
                "kind",
                "state",
                "progress",
                "result",
                "error",
                "created_at",
                "updated_at",
            ],
            "properties": {
                "id": {"type": "string"},
                "kind": {"type": "string", "enum": ["export", "purge"]},
                "state": {
                    "type": "string",
                    "enum": ["queued", "running", "succeeded", "failed", "cancelled"],
                },
                "progress": {
                    "type": "object",
                    "required": ["done", "total", "message"],
                    "properties": {
                        "done": count,
                        "total": {**count, "nullable": True},
                        "message": {"type": "string"},
                    },
                },
                "result": {
                    "type": "object",
                    "nullable": True,
                    "description": "When succeeded. An export: download_url (a fresh link on"
                    " each read, valid until url_expires_at), archive_expires_at, files,"
                    " skipped, size.",
                    "additionalProperties": True,
                },
                "error": {
                    "type": "string",
                    "nullable": True,
                    "description": "The last step error (the task is retried, then failed).",
                },
                "created_at": time,
                "updated_at": time,
            },
        },
    }


def _task_errors(**described: str) -> dict[str, Any]:
    codes = {
        "401": _ERRORS["401"],
        "404": "No such task for this tenant (another tenant's id answers 404 too).",
        "429": _ERRORS["429"],
        "503": _ERRORS["503"],
        **described,
    }
    return {
        code: _json(_ref("Error"), text, ["Retry-After"] if code in ("429", "503") else None)
        for code, text in sorted(codes.items())
    }


def _task_paths() -> dict[str, Any]:
    task_id = _param("task_id", "path", {"type": "string"}, "The task's id.")
    quota = "A quota is full: running tasks, or live export archives (the body says which)."
    no_404 = {k: v for k, v in _task_errors(**{"403": quota}).items() if k != "404"}
    return {
        "/exports": {
            "post": _op(
                "startExport",
                "Bundle every file of the tenant into one zip archive, in the background."
                " While an export is under way, the same task is returned.",
                {"202": _json(_ref("Task"), "Accepted: poll the task.", ["Location"]), **no_404},
                (),
            ),
        },
        "/tasks/{task_id}": {
            "get": _op(
                "getTask",
                "A task's state, progress and result.",
                {"200": _json(_ref("Task"), "The task."), **_task_errors()},
                (),
                [task_id],
            ),
            "delete": _op(
                "cancelTask",
                "Cancel a task; its worker stops after the current step.",
                {
                    "200": _json(_ref("Task"), "Cancelled (or already cancelled)."),
                    **_task_errors(**{"409": "The task already succeeded or failed."}),
                },
                (),
                [task_id],
            ),
        },
    }
