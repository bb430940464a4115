"""History's routes, schemas and examples (chalicelib/edge/routes/history.py, docs/history.md),
joined to the table (table.py) and to the schemas (schemas.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.edge.openapi.entries import (
    EXAMPLE_ID,
    EXAMPLE_SHA,
    FILE_ID,
    TEXT,
    Param,
    Reply,
    Route,
    Schema,
)
from chalicelib.edge.openapi.names import IF_MATCH
from chalicelib.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PreconditionFailed,
    QuotaExceeded,
    TooLarge,
)

VERSION = Param(
    "version", "path", {"type": "integer", "minimum": 1}, "A version number of the file."
)
LIMIT = Param(
    "limit",
    "query",
    {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
    "Page size.",
)
CURSOR = Param("cursor", "query", description="next_cursor of the previous page.")
FILE_OK = Reply("The file's metadata (its new current version).", "FileMetadata", headers=("ETag",))
DIFF_MEDIA = ("text/x-diff",)

HISTORY_ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/files/{file_id}/versions",
        "listVersions",
        "A file's kept versions, newest first, a page at a time.",
        {"200": Reply("A page of versions.", "VersionList")},
        errors=(BadRequest, NotFound),
        params=(FILE_ID, LIMIT, CURSOR),
    ),
    Route(
        "GET",
        "/files/{file_id}/versions/{version}",
        "readVersion",
        "One version's body; it never changes (Cache-Control: immutable).",
        {
            "200": Reply("The body.", TEXT, ("text/plain",), ("ETag", "Last-Modified")),
            "304": Reply("Not modified (If-None-Match)."),
            "307": Reply(
                "A body too large for a Lambda response: a short-lived link (Location).",
                headers=("Location", "ETag"),
            ),
        },
        errors=(NotFound,),
        params=(FILE_ID, VERSION, Param("If-None-Match", "header", description="ETags you hold.")),
    ),
    Route(
        "GET",
        "/files/{file_id}/versions/{version}/metadata",
        "readVersionMetadata",
        "One version's metadata.",
        {"200": Reply("The version.", "Version", headers=("ETag",))},
        errors=(NotFound,),
        params=(FILE_ID, VERSION),
    ),
    Route(
        "POST",
        "/files/{file_id}/versions/{version}/restore",
        "restoreVersion",
        "Make a version's body current again, as a new version (retention starts again).",
        {"200": FILE_OK},
        errors=(QuotaExceeded, NotFound, PreconditionFailed, Conflict),
        params=(FILE_ID, VERSION, IF_MATCH),
    ),
    Route(
        "GET",
        "/files/{file_id}/diff",
        "diffVersions",
        "A unified diff between two versions (each at most DIFF_MAX_BYTES).",
        {"200": Reply("The diff (empty when the bodies are equal).", TEXT, DIFF_MEDIA)},
        errors=(BadRequest, NotFound, TooLarge),
        params=(
            FILE_ID,
            Param("from", "query", {"type": "integer", "minimum": 1}, "The older version.", True),
            Param("to", "query", {"type": "integer", "minimum": 1}, "Default: the current one."),
        ),
    ),
    Route(
        "GET",
        "/trash",
        "listTrash",
        "Deleted files, latest deletion first (kept RETENTION_DAYS after the deletion).",
        {"200": Reply("A page of trashed files.", "TrashList")},
        errors=(BadRequest,),
        params=(LIMIT, CURSOR),
    ),
    Route(
        "POST",
        "/trash/{file_id}/restore",
        "restoreTrashed",
        "Bring a deleted file back with all its versions, as a new version.",
        {"200": Reply("The restored file.", "FileMetadata", headers=("Location", "ETag"))},
        errors=(BadRequest, QuotaExceeded, NotFound, Conflict),
        params=(
            FILE_ID,
            Param("name", "query", description="Restore under this name (default: its own)."),
        ),
    ),
    Route(
        "DELETE",
        "/trash/{file_id}",
        "deleteTrashed",
        "Delete a trashed file for good, every version, now.",
        {"204": Reply("Deleted for good.")},
        errors=(NotFound,),
        params=(FILE_ID,),
    ),
)

_TIME: Schema = {"type": "string", "format": "date-time"}
_COUNT: Schema = {"type": "integer", "minimum": 0}


def _object(properties: dict[str, Any], *optional: str) -> Schema:
    required = [name for name in properties if name not in optional]
    return {"type": "object", "required": required, "properties": properties}


def _list(item: str) -> Schema:
    return _object(
        {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "next_cursor": {"type": "string", "nullable": True},
        }
    )


HISTORY_SCHEMAS: dict[str, Schema] = {
    "Version": _object(
        {
            "file_id": TEXT,
            "version": {"type": "integer", "minimum": 1},
            "name": TEXT,
            "size": _COUNT,
            "sha256": TEXT,
            "etag": TEXT,
            "created_at": {**_TIME, "description": "When this version was written."},
            "superseded_at": {**_TIME, "nullable": True, "description": "Null: the current one."},
            "expires_at": _TIME,
        }
    ),
    "VersionList": _list("Version"),
    "Trashed": _object(
        {
            "id": TEXT,
            "name": TEXT,
            "size": _COUNT,
            "version": {"type": "integer", "minimum": 1},
            "created_at": _TIME,
            "deleted_at": _TIME,
            "expires_at": {**_TIME, "description": "Deletion + the retention period."},
        }
    ),
    "TrashList": _list("Trashed"),
}

_VERSION = {
    "file_id": EXAMPLE_ID,
    "version": 1,
    "name": "todo.txt",
    "size": 16,
    "sha256": EXAMPLE_SHA,
    "etag": f'"{EXAMPLE_SHA}"',
    "created_at": "2026-11-23T09:00:00Z",
    "superseded_at": "2026-11-23T10:30:00Z",
    "expires_at": "2026-12-23T10:30:00Z",
}
_FILE = {
    "id": EXAMPLE_ID,
    "name": "todo.txt",
    "size": 16,
    "sha256": EXAMPLE_SHA,
    "etag": f'"{EXAMPLE_SHA}"',
    "record_etag": f'"v3.{EXAMPLE_ID}"',
    "version": 3,
    "created_at": "2026-11-23T09:00:00Z",
    "updated_at": "2026-11-24T08:00:00Z",
    "expires_at": "2026-12-24T08:00:00Z",
}
_TRASHED = {
    "id": EXAMPLE_ID,
    "name": "todo.txt",
    "size": 16,
    "version": 2,
    "created_at": "2026-11-23T09:00:00Z",
    "deleted_at": "2026-11-24T08:00:00Z",
    "expires_at": "2026-12-24T08:00:00Z",
}
_CURRENT = {**_VERSION, "version": 2, "size": 23, "superseded_at": None}
_DIFF = "--- todo.txt@v1\n+++ todo.txt@v2\n@@ -1,3 +1,4 @@\n milk\n eggs\n bread\n+butter\n"
HISTORY_EXAMPLES: dict[str, tuple[dict[str, Any], Any]] = {
    "listVersions": ({"200": {"items": [_CURRENT, _VERSION], "next_cursor": None}}, None),
    "readVersion": ({"200": "milk\neggs\nbread\n", "206": "eggs\n"}, None),
    "readVersionMetadata": ({"200": _VERSION}, None),
    "restoreVersion": ({"200": _FILE}, None),
    "diffVersions": ({"200": _DIFF}, None),
    "listTrash": ({"200": {"items": [_TRASHED], "next_cursor": None}}, None),
    "restoreTrashed": ({"200": _FILE}, None),
    "deleteTrashed": ({}, None),
}
