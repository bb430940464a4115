"""The OpenAPI document's data: the schemas of the JSON bodies, and an example for every
operation (by operationId) and every error (by code)."""

from __future__ import annotations

from typing import Any

from chalicelib.edge.openapi.bodies import BODIES_LINKS
from chalicelib.edge.openapi.changes import CHANGES_EXAMPLES, CHANGES_SCHEMAS
from chalicelib.edge.openapi.entries import EXAMPLE_FILE, EXAMPLE_ID, NAME_SCHEMA, TEXT, Schema
from chalicelib.edge.openapi.history import HISTORY_EXAMPLES, HISTORY_SCHEMAS
from chalicelib.edge.openapi.names import NAMES_EXAMPLES
from chalicelib.edge.openapi.ranges import EXAMPLES as HEAD_EXAMPLES
from chalicelib.edge.openapi.ranges import PARTIAL_EXAMPLE as RANGE_EXAMPLE
from chalicelib.errors import DomainError

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
    "size": 7340032,
    "url": "https://textfiles-prod.s3.amazonaws.com/tenants/acme/files/...&X-Amz-Signature=...",
    "method": "PUT",
    "headers": {"Content-Type": "text/plain; charset=utf-8"},
    "max_bytes": 104857600,
    "expires_at": "2026-11-23T10:45:00Z",
    "complete_url": "/files/uploads/7e6d5c4b3a291807f6e5d4c3b2a19080/complete",
}
USAGE = {
    "files": {"used": 42, "limit": 10000},
    "bytes": {
        "used": 1843200,
        "limit": 1073741824,
        "current": 1228800,
        "history": 409600,
        "trash": 204800,
    },
    "running_tasks": {"used": 1, "limit": 2},
    "exports": {"used": 3, "limit": 10},
    "rate": {"used": 17, "limit": 600, "remaining": 583, "window_seconds": 60, "reset_seconds": 38},
    "max_inline_bytes": 5242880,
    "max_upload_bytes": 104857600,
}
_HTML = '<!doctype html>\n<html lang="en">...'

# operationId -> (status -> example of that response's body, example of the request body)
EXAMPLES: dict[str, tuple[dict[str, Any], Any]] = {
    "createFile": (
        {"201": {**EXAMPLE_FILE, "version": 1, "record_etag": f'"v1.{EXAMPLE_ID}"'}},
        "milk\neggs\nbread\n",
    ),
    "listFiles": ({"200": {"items": [EXAMPLE_FILE], "next_cursor": "eyJ1IjoxNzY0NDk..."}}, None),
    "readFile": ({"200": "milk\neggs\nbread\nbutter\n", "206": RANGE_EXAMPLE}, None),
    "replaceFile": ({"200": EXAMPLE_FILE}, "milk\neggs\nbread\nbutter\n"),
    "renameFile": ({"200": {**EXAMPLE_FILE, "name": "shopping.txt"}}, {"name": "shopping.txt"}),
    "deleteFile": ({}, None),
    "readMetadata": ({"200": EXAMPLE_FILE}, None),
    "startUpload": ({"201": _UPLOAD}, None),
    "completeUpload": ({"201": {**EXAMPLE_FILE, "name": "big.txt", "size": 7340032}}, None),
    "putLocalBlob": ({}, "a large body\n"),
    "getLocalBlob": ({"206": RANGE_EXAMPLE}, None),
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
    **HISTORY_EXAMPLES,
    **CHANGES_EXAMPLES,
    "startReplaceUpload": ({"201": {**_UPLOAD, "size": 20971520, "name": "todo.txt"}}, None),
    "copyFile": (
        {"201": {**EXAMPLE_FILE, "id": EXAMPLE_ID[::-1], "name": "todo (copy).txt", "version": 1}},
        None,
    ),
    **HEAD_EXAMPLES,
    **NAMES_EXAMPLES,
}
# operationId -> status -> the operations its answer leads to (OpenAPI links), each given
# the path parameter it needs from the answer.
_FILE_LINKS = {
    op: {"operationId": op, "parameters": {"file_id": "$response.body#/id"}}
    for op in ("readFile", "readMetadata", "replaceFile", "renameFile", "deleteFile")
}
LINKS: dict[str, dict[str, dict[str, Any]]] = {
    "createFile": {"201": _FILE_LINKS},
    "completeUpload": {"201": _FILE_LINKS},
    "startUpload": {
        "201": {
            "completeUpload": {
                "operationId": "completeUpload",
                "parameters": {"upload_id": "$response.body#/upload_id"},
            }
        }
    },
    "startExport": {
        "202": {
            op: {"operationId": op, "parameters": {"task_id": "$response.body#/id"}}
            for op in ("getTask", "cancelTask")
        }
    },
    **BODIES_LINKS,
}
# An error's code -> the message of its example.
ERRORS = {
    "BadRequest": "The name must be 1-255 characters, without '/' or control characters.",
    "Unauthorized": "The API key is not valid.",
    "Forbidden": "The upload link is not valid or has expired.",
    "QuotaExceeded": "Quota exceeded: files (10000 of 10000 used).",
    "NotFound": f"No file {EXAMPLE_ID}.",
    "Conflict": "A file named 'todo.txt' already exists.",
    "PreconditionFailed": "The file changed since you read it (If-Match does not match).",
    "PayloadTooLarge": "The body is larger than 5242880 bytes: use POST /files/uploads.",
    "UnsupportedMediaType": "The body is not plaintext (valid UTF-8 without NUL bytes).",
    "TooManyRequests": "Rate limit of 600 requests per 60 s exceeded; retry in 38 s.",
    "ServiceUnavailable": "A backend is unavailable (database); retry later.",
    "Gone": "Changes are kept 30 days and some after this cursor are gone: list the files"
    " again (GET /files) and follow from GET /changes/latest.",
    "IdempotencyKeyInUse": "A request with this Idempotency-Key is still running.",
    "IdempotencyKeyReused": "This Idempotency-Key was used for a different request.",
    "RangeNotSatisfiable": "The body has 20 bytes: no byte of the requested range is in it;"
    " ask for bytes=0-19 or a suffix such as bytes=-100.",
}


def error_example(cls: type[DomainError]) -> dict[str, str]:
    return {"Code": cls.code, "Message": ERRORS[cls.code]}


def _object(properties: dict[str, Any], *optional: str, **more: Any) -> Schema:
    """An object schema in which every property is required but the `optional` ones."""
    required = [name for name in properties if name not in optional]
    return {"type": "object", "required": required, "properties": properties, **more}


_TIME: Schema = {"type": "string", "format": "date-time"}
_COUNT: Schema = {"type": "integer", "minimum": 0}
_METER = _object({"used": _COUNT, "limit": _COUNT})
_RATE = ("used", "limit", "remaining", "window_seconds", "reset_seconds")
_FILE_FIELDS: dict[str, Schema] = {
    "id": TEXT,
    "name": TEXT,
    "size": _COUNT,
    "sha256": TEXT,
    "etag": {**TEXT, "description": "The body's ETag (its content hash): guards the body."},
    "record_etag": {
        **TEXT,
        "description": "The record's ETag (this file at this version): guards everything,"
        " name included. The ETag header of GET /files/{id}/metadata.",
    },
    "version": {"type": "integer", "minimum": 1},
    "created_at": _TIME,
    "updated_at": _TIME,
    "expires_at": {**_TIME, "description": "Last body write + the retention period."},
}
_TASK_FIELDS: dict[str, Schema] = {
    "id": TEXT,
    "kind": {"type": "string", "enum": ["export", "purge"]},
    "state": {
        "type": "string",
        "enum": ["queued", "running", "succeeded", "failed", "cancelled"],
    },
    "progress": _object({"done": _COUNT, "total": {**_COUNT, "nullable": True}, "message": TEXT}),
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
    "created_at": _TIME,
    "updated_at": _TIME,
}
_UPLOAD_FIELDS: dict[str, Schema] = {
    "upload_id": TEXT,
    "name": TEXT,
    "size": _COUNT,
    "url": TEXT,
    "method": {"type": "string", "enum": ["PUT"]},
    "headers": {"type": "object", "additionalProperties": TEXT},
    "max_bytes": {"type": "integer"},
    "expires_at": _TIME,
    "complete_url": TEXT,
}
_USAGE_FIELDS: dict[str, Schema] = {
    "files": _METER,
    "bytes": _object(
        {"used": _COUNT, "limit": _COUNT, "current": _COUNT, "history": _COUNT, "trash": _COUNT},
        description="Bytes stored: every kept version's own body (current + history + trash)"
        " and pending uploads' reservations.",
    ),
    "running_tasks": {**_METER, "description": "Queued or running tasks."},
    "exports": {
        **_METER,
        "description": "Export archives kept (and exports under way); DELETE /tasks/{id}"
        " of a succeeded export frees one.",
    },
    "rate": _object(
        dict.fromkeys(_RATE, _COUNT),
        description="This rate-limit window, counting this request.",
    ),
    "max_inline_bytes": {**_COUNT, "description": "Larger bodies need an upload."},
    "max_upload_bytes": _COUNT,
}
_ERROR_FIELDS: dict[str, Schema] = {
    "Code": TEXT,
    "Message": TEXT,
    "quota": {**TEXT, "description": "QuotaExceeded: files, bytes, tasks or exports."},
    "state": {**TEXT, "description": "Conflict on a task: the state it is already in."},
    "used": {"type": "integer"},
    "limit": {"type": "integer"},
    "upload_url": {**TEXT, "description": "PayloadTooLarge on a replace: the route that takes it."},
    "size": {"type": "integer", "description": "RangeNotSatisfiable: the body's length."},
}
_HEALTH_FIELDS: dict[str, Schema] = {
    "status": {"type": "string", "enum": ["ok", "unavailable"]},
    "checks": {"type": "object", "additionalProperties": {"type": "object"}},
}
SCHEMAS: dict[str, Schema] = {
    "Error": _object(_ERROR_FIELDS, "quota", "used", "limit", "state", "upload_url", "size"),
    # Not "File": generated clients name their own binary-body type File.
    "FileMetadata": _object(_FILE_FIELDS),
    "FileList": _object(
        {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/FileMetadata"}},
            "next_cursor": {"type": "string", "nullable": True},
        }
    ),
    "Upload": _object(_UPLOAD_FIELDS),
    "Rename": _object({"name": NAME_SCHEMA}, additionalProperties=False),
    "Health": _object(_HEALTH_FIELDS),
    "Task": _object(_TASK_FIELDS),
    "Usage": _object(_USAGE_FIELDS),
    **HISTORY_SCHEMAS,
    **CHANGES_SCHEMAS,
}
