"""The routes that move a body inside the store (chalicelib/edge/routes/bodies.py, docs/api.md),
joined to the table (table.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.edge.openapi.entries import FILE_ID, Param, Reply, Route, Setting
from chalicelib.errors import (
    BadRequest,
    Conflict,
    NotFound,
    PreconditionFailed,
    QuotaExceeded,
    TooLarge,
)

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

# Their examples are in schemas.py, beside the upload's and the file's they resemble.
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
