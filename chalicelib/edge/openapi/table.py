"""Every route of the HTTP API, declared once (the handlers: app.py, chalicelib/*_api.py)."""

from __future__ import annotations

from chalicelib.edge.openapi.changes import CHANGES_ROUTES
from chalicelib.edge.openapi.entries import TEXT, Body, Param, Reply, Route, Schema, Setting
from chalicelib.edge.openapi.history import HISTORY_ROUTES
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

# What rules.validate_name accepts: no "/", no control character (Unicode category Cc).
NAME_SCHEMA: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": "^[^/\\u0000-\\u001f\\u007f-\\u009f]+$",
}
NAME = Param(
    "name",
    "query",
    NAME_SCHEMA,
    "1-255 characters, no '/', no control characters, unique per tenant.",
    required=True,
)
FILE_ID = Param("file_id", "path", description="The file's id.")
TASK_ID = Param("task_id", "path", description="The task's id.")
TOKEN = Param("token", "path", description="The signed link token.")
TEXT_BODY = Body(
    TEXT,
    "text/plain",
    "The file body: valid UTF-8 without NUL bytes, at most MAX_INLINE_BYTES (larger: an"
    " upload). application/octet-stream is taken too, for clients that send bytes as such.",
    binary=("application/octet-stream",),
)
FILE_OK = Reply("The file's metadata.", "FileMetadata", headers=("ETag",))
CREATED = Reply("Created.", "FileMetadata", headers=("Location", "ETag"))


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
        errors=(NotFound,),
        params=(FILE_ID, Param("If-None-Match", "header", description="ETags you hold.")),
    ),
    Route(
        "PUT",
        "/files/{file_id}",
        "replaceFile",
        "Replace the body; resets retention.",
        {"200": FILE_OK},
        errors=(QuotaExceeded, NotFound, PreconditionFailed, TooLarge, NotPlaintext),
        params=(
            FILE_ID,
            Param("If-Match", "header", description="Only if the body still has this ETag."),
        ),
        body=TEXT_BODY,
    ),
    Route(
        "PATCH",
        "/files/{file_id}",
        "renameFile",
        "Rename a file.",
        {"200": FILE_OK},
        errors=(BadRequest, NotFound, Conflict, NotPlaintext),
        params=(FILE_ID,),
        body=Body("Rename"),
    ),
    Route(
        "DELETE",
        "/files/{file_id}",
        "deleteFile",
        "Move a file to the trash (its name is free; GET /trash).",
        {"204": Reply("In the trash.")},
        errors=(NotFound,),
        params=(FILE_ID,),
    ),
    Route(
        "GET",
        "/files/{file_id}/metadata",
        "readMetadata",
        "A file's metadata.",
        {"200": FILE_OK},
        errors=(NotFound,),
        params=(FILE_ID,),
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
        "Validate the uploaded body and create the file.",
        {
            "201": CREATED,
            "200": Reply("Already completed: the same file.", "FileMetadata", headers=("ETag",)),
        },
        errors=(QuotaExceeded, NotFound, Conflict, TooLarge, NotPlaintext),
        params=(Param("upload_id", "path", description="From POST /files/uploads."),),
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
        "Local folder driver only: a download link's target.",
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
    # chalicelib/edge/routes/tasks.py
    Route(
        "POST",
        "/exports",
        "startExport",
        "Bundle every file of the tenant into one zip archive, in the background."
        " While an export is under way, the same task is returned.",
        {"202": Reply("Accepted: poll the task.", "Task", headers=("Location",))},
        errors=(QuotaExceeded,),
    ),
    Route(
        "GET",
        "/tasks/{task_id}",
        "getTask",
        "A task's state, progress and result.",
        {"200": Reply("The task.", "Task")},
        errors=(NotFound,),
        params=(TASK_ID,),
    ),
    Route(
        "DELETE",
        "/tasks/{task_id}",
        "cancelTask",
        "Cancel a running task (its worker stops after the current step), or delete a"
        " succeeded export with its archive now.",
        {
            "200": Reply("Cancelled (or already cancelled).", "Task"),
            "204": Reply("The succeeded task and its archive are deleted."),
        },
        errors=(NotFound, Conflict),
        params=(TASK_ID,),
    ),
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
)
