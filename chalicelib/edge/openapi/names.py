"""The routes by name and the precondition headers (chalicelib/edge/routes/names.py,
docs/writes.md), joined to the table (table.py) and to the examples (schemas.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.edge.openapi.entries import (
    EXAMPLE_FILE,
    EXAMPLE_ID,
    EXAMPLE_SHA,
    NAME_SCHEMA,
    TEXT,
    TEXT_BODY,
    Param,
    Reply,
    Route,
)
from chalicelib.errors import (
    BadRequest,
    Conflict,
    NotFound,
    NotPlaintext,
    PreconditionFailed,
    QuotaExceeded,
    TooLarge,
)

_TAGS = {"type": "string", "example": f'"v2.{EXAMPLE_ID}"'}

IF_MATCH = Param(
    "If-Match",
    "header",
    _TAGS,
    "Only if the file still has one of these strong ETags (comma-separated; a W/ tag never"
    " matches): its body's `etag` guards the body (a rename still passes), its `record_etag`"
    " guards everything, name included; `*` is any current file. 412 when none matches; a"
    " value that is not `*` or quoted ETags is a 400.",
)
IF_NONE_MATCH = Param(
    "If-None-Match",
    "header",
    {"type": "string", "enum": ["*"], "example": "*"},
    "`*`: only where no file is (create only); 412 when one is. Any other value is a 400.",
)
IF_MATCH_READ = Param(
    "If-Match", "header", _TAGS, "412 unless the file has one of these ETags (either kind)."
)
IF_NONE_MATCH_READ = Param(
    "If-None-Match",
    "header",
    {"type": "string", "example": f'"{EXAMPLE_SHA}"'},
    "Body ETags you hold: 304 when the body has one of them.",
)
_HTTP_DATE = {"type": "string", "example": "Mon, 23 Nov 2026 10:30:00 GMT"}
DATES = (
    Param(
        "If-Modified-Since",
        "header",
        _HTTP_DATE,
        "304 unless the file changed after this HTTP-date (ignored with If-None-Match).",
    ),
    Param(
        "If-Unmodified-Since",
        "header",
        _HTTP_DATE,
        "412 if the file changed after this HTTP-date (ignored with If-Match). On a write it is"
        " a 400: send If-Match with the record_etag.",
    ),
)
IF_NONE_MATCH_RECORD = Param(
    "If-None-Match",
    "header",
    {"type": "string", "example": f'"v2.{EXAMPLE_ID}"'},
    "Record ETags you hold (record_etag): 304 when the record is still one of them.",
)
NAME = Param(
    "name",
    "path",
    NAME_SCHEMA,
    "The file's name, percent-encoded as one path segment (a space is %20, a % is %25); it is"
    " decoded once. Names hold no '/': a %2F decodes to one and is a 400.",
)
_READ_REPLIES = {
    "200": Reply("The body.", TEXT, ("text/plain",), ("ETag", "Last-Modified")),
    "304": Reply("Not modified (If-None-Match)."),
    "307": Reply(
        "A body too large for a Lambda response: a short-lived link (Location).",
        headers=("Location", "ETag"),
    ),
}
_READ_ERRORS = (BadRequest, NotFound, PreconditionFailed)
_FILE = Reply("The file's metadata (the body replaced).", "FileMetadata", headers=("ETag",))
_CREATED = Reply("Created.", "FileMetadata", headers=("Location", "ETag"))
_WRITE_ERRORS = (BadRequest, QuotaExceeded, Conflict, PreconditionFailed, TooLarge, NotPlaintext)

NAMES_ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/names/{name}",
        "readNamed",
        "Read a file's body by its name, as GET /files/{file_id} does.",
        _READ_REPLIES,
        errors=_READ_ERRORS,
        params=(NAME, IF_NONE_MATCH_READ, IF_MATCH_READ, *DATES),
    ),
    Route(
        "PUT",
        "/names/{name}",
        "putNamed",
        "Create the file of that name (201) or replace its body (200); If-None-Match: * creates"
        " only, If-Match replaces only the version you read.",
        {"200": _FILE, "201": _CREATED},
        errors=_WRITE_ERRORS,
        params=(NAME, IF_MATCH, IF_NONE_MATCH),
        body=TEXT_BODY,
    ),
    Route(
        "DELETE",
        "/names/{name}",
        "deleteNamed",
        "Move the file of that name to the trash, as DELETE /files/{file_id} does.",
        {"204": Reply("In the trash.")},
        errors=(BadRequest, NotFound, PreconditionFailed),
        params=(NAME, IF_MATCH),
    ),
)

_NEW = {
    **EXAMPLE_FILE,
    "version": 1,
    "record_etag": f'"v1.{EXAMPLE_ID}"',
    "updated_at": EXAMPLE_FILE["created_at"],
}
NAMES_EXAMPLES: dict[str, tuple[dict[str, Any], Any]] = {
    "readNamed": ({"200": "milk\neggs\nbread\nbutter\n"}, None),
    "putNamed": ({"200": EXAMPLE_FILE, "201": _NEW}, "milk\neggs\nbread\nbutter\n"),
    "deleteNamed": ({}, None),
}
