"""The routes that move a body inside the store (chalicelib/edge/routes/bodies.py, docs/api.md):
their entries and examples, joined to the table (table.py) and the examples (schemas.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.edge.openapi.entries import Param, Reply, Route, Setting
from chalicelib.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PreconditionFailed,
    QuotaExceeded,
    TooLarge,
)

FILE_ID = Param("file_id", "path", description="The file's id.")
SIZE = Param(
    "size",
    "query",
    {"type": "integer", "minimum": 0, "maximum": Setting("MAX_UPLOAD_BYTES")},
    "The new body's length in bytes (at most MAX_UPLOAD_BYTES): the link is signed for it and"
    " it counts against the byte quota until the link expires.",
    required=True,
)
IF_MATCH_LINK = Param(
    "If-Match",
    "header",
    description="Only if the current body has this ETag: checked now, and again when the"
    " upload completes (412 then if the file changed meanwhile).",
)
IF_MATCH_SOURCE = Param(
    "If-Match", "header", description="Only if the source's current body has this ETag."
)
COPY_NAME = Param(
    "name",
    "query",
    {"type": "string", "minLength": 1, "maxLength": 255},
    "The copy's name: 1-255 characters, no '/', no control characters, not taken.",
    required=True,
)

BODIES_ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/files/{file_id}/uploads",
        "startReplaceUpload",
        "A presigned PUT link for a new body of any size; completing the upload"
        " (POST complete_url) makes it the file's next version.",
        {"201": Reply("Upload the body to url, then POST complete_url.", "Upload")},
        errors=(BadRequest, QuotaExceeded, NotFound, PreconditionFailed, TooLarge),
        params=(FILE_ID, SIZE, IF_MATCH_LINK),
    ),
    Route(
        "POST",
        "/files/{file_id}/copy",
        "copyFile",
        "A new file with the same body, copied inside the store (never downloaded).",
        {"201": Reply("Created.", "FileMetadata", headers=("Location", "ETag"))},
        errors=(BadRequest, QuotaExceeded, NotFound, PreconditionFailed, Conflict),
        params=(FILE_ID, COPY_NAME, IF_MATCH_SOURCE),
    ),
)

_ID = "3f2a9c0e5b7d41e8a6c4f1b2d3e4a5b6"
_SHA = "9d5ed678fe57bcca610140957afab571e8f5d9e4b5c9f0a1b2c3d4e5f6a7b8c9"
_UPLOAD_ID = "5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"
_REPLACE = {
    "upload_id": _UPLOAD_ID,
    "name": "big.txt",
    "size": 20971520,
    "url": f"https://textfiles-prod.s3.amazonaws.com/tenants/acme/files/{_ID}/...&X-Amz-Signature=...",
    "method": "PUT",
    "headers": {"Content-Type": "text/plain; charset=utf-8", "Content-Length": "20971520"},
    "max_bytes": 104857600,
    "expires_at": "2026-11-23T10:45:00Z",
    "complete_url": f"/files/uploads/{_UPLOAD_ID}/complete",
}
_COPY = {
    "id": "8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
    "name": "todo (copy).txt",
    "size": 26,
    "sha256": _SHA,
    "etag": f'"{_SHA}"',
    "version": 1,
    "created_at": "2026-11-23T11:00:00Z",
    "updated_at": "2026-11-23T11:00:00Z",
    "expires_at": "2026-12-23T11:00:00Z",
}
BODIES_EXAMPLES: dict[str, tuple[dict[str, Any], Any]] = {
    "startReplaceUpload": ({"201": _REPLACE}, None),
    "copyFile": ({"201": _COPY}, None),
}
BODIES_LINKS: dict[str, dict[str, dict[str, Any]]] = {
    "startReplaceUpload": {
        "201": {
            "completeUpload": {
                "operationId": "completeUpload",
                "parameters": {"upload_id": "$response.body#/upload_id"},
            }
        }
    },
}
