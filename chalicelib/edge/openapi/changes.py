"""The change feed's routes, schemas and examples (chalicelib/edge/routes/changes.py,
docs/changes.md), joined to the table (table.py) and to the schemas (schemas.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.edge.openapi.entries import (
    EXAMPLE_ID,
    EXAMPLE_SHA,
    TEXT,
    Param,
    Reply,
    Route,
    Schema,
)
from chalicelib.errors import BadRequest, Gone

CHANGES_ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/changes",
        "listChanges",
        "The tenant's changes in commit order, oldest first, each exactly once; with `wait`,"
        " held until a change arrives (long poll).",
        {"200": Reply("A page of changes and the cursor to continue from.", "ChangeList")},
        errors=(BadRequest, Gone),
        params=(
            Param(
                "cursor",
                "query",
                description="next_cursor of a previous answer or of /changes/latest (default:"
                " from the oldest change still kept).",
            ),
            Param(
                "limit",
                "query",
                {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                "Page size.",
            ),
            Param(
                "wait",
                "query",
                {"type": "integer", "minimum": 0, "maximum": 20, "default": 0},
                "Seconds to wait for a change when there is none yet (a tenant may hold 5"
                " waiting requests at once; one more is a 429).",
            ),
        ),
    ),
    Route(
        "GET",
        "/changes/latest",
        "latestChange",
        "A cursor at the head of the feed: follow from now on, without the past.",
        {"200": Reply("The cursor.", "ChangeCursor")},
    ),
)

_TIME: Schema = {"type": "string", "format": "date-time"}
_TYPES = ["created", "updated", "renamed", "deleted", "restored", "purged"]

CHANGES_SCHEMAS: dict[str, Schema] = {
    "Change": {
        "type": "object",
        "required": ["seq", "type", "file_id", "name", "version", "etag", "size", "at"],
        "properties": {
            "seq": {"type": "integer", "minimum": 1, "description": "The change's number."},
            "type": {"type": "string", "enum": _TYPES},
            "file_id": TEXT,
            "name": {**TEXT, "description": "The file's name after the change."},
            "version": {"type": "integer", "minimum": 1},
            "etag": {**TEXT, "nullable": True, "description": "The body's ETag; null: purged."},
            "size": {"type": "integer", "minimum": 0, "nullable": True},
            "at": {**_TIME, "description": "When the change was made."},
        },
    },
    "ChangeList": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Change"}},
            "next_cursor": {**TEXT, "description": "Never null: at the head, poll with it."},
        },
    },
    "ChangeCursor": {
        "type": "object",
        "required": ["next_cursor"],
        "properties": {"next_cursor": TEXT},
    },
}

_CHANGE = {
    "seq": 41,
    "type": "updated",
    "file_id": EXAMPLE_ID,
    "name": "todo.txt",
    "version": 2,
    "etag": f'"{EXAMPLE_SHA}"',
    "size": 23,
    "at": "2026-11-24T08:00:00.000Z",
}
_RENAMED = {**_CHANGE, "seq": 42, "type": "renamed", "name": "done.txt", "version": 3}
CHANGES_EXAMPLES: dict[str, tuple[dict[str, Any], Any]] = {
    "listChanges": ({"200": {"items": [_CHANGE, _RENAMED], "next_cursor": "WyJjIiwgNDJd"}}, None),
    "latestChange": ({"200": {"next_cursor": "WyJjIiwgNDJd"}}, None),
}
