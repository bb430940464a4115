"""Every route of the HTTP API, declared once (the handlers: app.py, chalicelib/*_api.py)."""

from __future__ import annotations

from chalicelib.edge.openapi.bodies import BODIES_ROUTES
from chalicelib.edge.openapi.changes import CHANGES_ROUTES
from chalicelib.edge.openapi.entries import (
    FILE_ID,
    NAME_SCHEMA,
    TEXT,
    TEXT_BODY,
    Body,
    Param,
    Reply,
    Route,
    Setting,
    keyed,
)
from chalicelib.edge.openapi.history import HISTORY_ROUTES
from chalicelib.edge.openapi.names import (
    DATES,
    IF_MATCH,
    IF_MATCH_READ,
    IF_NONE_MATCH,
    IF_NONE_MATCH_READ,
    IF_NONE_MATCH_RECORD,
    NAMES_ROUTES,
)
from chalicelib.edge.openapi.ranges import with_ranges_and_heads
from chalicelib.edge.openapi.tasks import TASK_ROUTES
from chalicelib.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    NotPlaintext,
    PreconditionFailed,
    QuotaExceeded,
    RateLimited,
    TooLarge,
)

NAME = Param(
    "name",
    "query",
    NAME_SCHEMA,
    "1-255 characters, no '/', no control characters, unique per tenant.",
    required=True,
)
TOKEN = Param("token", "path", description="The signed link token.")
FILE_OK = Reply("The file's metadata.", "FileMetadata", headers=("ETag",))
FILE_HEADERS = ("Location", "ETag")
CREATED = Reply("Created.", "FileMetadata", headers=FILE_HEADERS)


def _page(
    path: str, op_id: str, summary: str, *media: str, params: tuple[Param, ...] = ()
) -> Route:
    """A page or an asset: public, text in one of `media`."""
    errors = (NotFound,) if params else ()
    return Route(
        "GET",
        path,
        op_id,
        summary,
        {"200": Reply(summary, TEXT, media)},
        errors=errors,
        params=params,
        secured=False,
    )


ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/files",
        "createFile",
        "Create a file from a text/plain body.",
        {"201": CREATED},
        errors=(BadRequest, QuotaExceeded, Conflict, TooLarge, NotPlaintext),
        params=(NAME,),
        body=TEXT_BODY,
    ),
    Route(
        "GET",
        "/files",
        "listFiles",
        "List files, newest first, a page at a time.",
        {"200": Reply("A page of metadata.", "FileList")},
        errors=(BadRequest,),
        params=(
            Param(
                "limit",
                "query",
                {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
                "Page size.",
            ),
            Param(
                "cursor",
                "query",
                {"type": "string", "maxLength": 100},
                "next_cursor of the previous page.",
            ),
            Param(
                "prefix",
                "query",
                {"type": "string", "maxLength": 255, "pattern": NAME_SCHEMA["pattern"]},
                "Only names starting with this (compared byte for byte).",
            ),
            Param(
                "q",
                "query",
                {"type": "string", "minLength": 1, "maxLength": 1000, "pattern": "\\w"},
                "Full-text search: every word (at least one, at most 32) must occur in the"
                " first SEARCH_INDEX_BYTES of the body.",
            ),
        ),
    ),
    Route(
        "GET",
        "/files/{file_id}",
        "readFile",
        "Read a file's body.",
        {
            "200": Reply("The body.", TEXT, ("text/plain",), ("ETag", "Last-Modified")),
            "304": Reply("Not modified (If-None-Match)."),
            "307": Reply(
                "A body too large for a Lambda response: a short-lived link (Location) that"
                " reads it, byte for byte.",
                headers=("Location", "ETag"),
            ),
        },
        errors=(BadRequest, NotFound, PreconditionFailed),
        params=(FILE_ID, IF_NONE_MATCH_READ, IF_MATCH_READ, *DATES),
    ),
    Route(
        "PUT",
        "/files/{file_id}",
        "replaceFile",
        "Replace the body; resets retention. A body above the inline limit: 413 with"
        " upload_url, POST /files/{file_id}/uploads.",
        {"200": FILE_OK},
        errors=(BadRequest, QuotaExceeded, NotFound, PreconditionFailed, TooLarge, NotPlaintext),
        params=(FILE_ID, IF_MATCH, IF_NONE_MATCH),
        body=TEXT_BODY,
    ),
    Route(
        "PATCH",
        "/files/{file_id}",
        "renameFile",
        "Rename a file.",
        {"200": FILE_OK},
        errors=(BadRequest, NotFound, Conflict, PreconditionFailed, NotPlaintext),
        params=(FILE_ID, IF_MATCH),
        body=Body("Rename"),
    ),
    Route(
        "DELETE",
        "/files/{file_id}",
        "deleteFile",
        "Move a file to the trash (its name is free; GET /trash).",
        {"204": Reply("In the trash.")},
        errors=(BadRequest, NotFound, PreconditionFailed),
        params=(FILE_ID, IF_MATCH),
    ),
    Route(
        "GET",
        "/files/{file_id}/metadata",
        "readMetadata",
        "A file's metadata; its ETag header is the record's (record_etag), not the body's.",
        {"200": FILE_OK, "304": Reply("Not modified (If-None-Match names the record_etag).")},
        errors=(BadRequest, NotFound, PreconditionFailed),
        params=(FILE_ID, IF_NONE_MATCH_RECORD, IF_MATCH_READ),
    ),
    Route(
        "POST",
        "/files/uploads",
        "startUpload",
        "A presigned PUT link for a body larger than the inline limit.",
        {"201": Reply("Upload the body to url, then POST complete_url.", "Upload")},
        errors=(BadRequest, QuotaExceeded, Conflict, TooLarge),
        params=(
            NAME,
            Param(
                "size",
                "query",
                {"type": "integer", "minimum": 0, "maximum": Setting("MAX_UPLOAD_BYTES")},
                "The body's length in bytes (at most MAX_UPLOAD_BYTES): the link is"
                " signed for it and it counts against the byte quota until completed.",
                required=True,
            ),
        ),
    ),
    Route(
        "POST",
        "/files/uploads/{upload_id}/complete",
        "completeUpload",
        "Validate the uploaded body and create the file (or, for POST /files/{file_id}/uploads,"
        " make it the file's next version).",
        {
            "201": CREATED,
            "200": Reply("A replaced body, or a retry: the file.", FILE_OK.schema, FILE_HEADERS),
        },
        errors=(QuotaExceeded, NotFound, Conflict, PreconditionFailed, TooLarge, NotPlaintext),
        params=(Param("upload_id", "path", description="From a POST .../uploads."),),
    ),
    Route(
        "PUT",
        "/blobs/{token}",
        "putLocalBlob",
        "Local folder driver only: the upload link's target.",
        {"200": Reply("Stored.")},
        errors=(BadRequest, Forbidden, NotFound, TooLarge),
        params=(TOKEN,),
        body=Body(TEXT, "*/*"),
        secured=False,
    ),
    Route(
        "GET",
        "/blobs/{token}",
        "getLocalBlob",
        "Local folder driver only: a download link's target (Range as S3 answers it).",
        {"200": Reply("The bytes.", {"type": "string", "format": "binary"}, ("*/*",))},
        errors=(Forbidden, NotFound),
        params=(TOKEN,),
        secured=False,
    ),
    Route(
        "GET",
        "/health",
        "health",
        "Deep check of every backend (a healthy report may be up to 5 s old).",
        {
            "200": Reply("Every backend answers.", "Health"),
            "503": Reply("A backend failed.", "Health", headers=("Retry-After",)),
        },
        errors=(RateLimited,),
        secured=False,
    ),
    Route(
        "GET",
        "/openapi.json",
        "openapi",
        "This document.",
        {"200": Reply("The OpenAPI 3 document.", {"type": "object"})},
        secured=False,
    ),
    *TASK_ROUTES,
    # chalicelib/edge/page.py
    _page("/", "webPage", "The web page (HTML).", "text/html"),
    _page("/docs", "apiReference", "This reference, rendered (HTML).", "text/html"),
    _page(
        "/static/{name}",
        "staticAsset",
        "A script or style sheet of the pages.",
        "text/javascript",
        "text/css",
        params=(Param("name", "path"),),
    ),
    Route(
        "GET",
        "/usage",
        "getUsage",
        "The tenant's files, bytes and running tasks against its quotas; the rate-limit window."
        " Files and bytes count until the daily purge deletes them: an expired file still"
        " counts for up to a day, and pending uploads' declared sizes count as bytes.",
        {"200": Reply("Usage and limits.", "Usage")},
    ),
    # chalicelib/edge/routes/history.py
    *HISTORY_ROUTES,
    *CHANGES_ROUTES,
    *BODIES_ROUTES,
    # chalicelib/edge/routes/names.py
    *NAMES_ROUTES,
)
ROUTES = keyed(with_ranges_and_heads(ROUTES))  # Range and HEAD on the bodies; Idempotency-Key
