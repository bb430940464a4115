"""The HTTP API's routes as data: what a route takes, answers and raises (named tuples, not
dataclasses: the document is built on request, and dataclasses imports inspect).

The table is chalicelib/edge/openapi/table.py; chalicelib/edge/openapi/render.py renders the
OpenAPI document from it, and tests/edge/test_routes.py keeps it equal to the routes the app
registers (a handler without an entry, or an entry without a handler, fails)."""

from typing import Any, NamedTuple

from chalicelib.errors import (
    BackendUnavailable,
    BadRequest,
    DomainError,
    KeyInUse,
    KeyReused,
    RateLimited,
    Unauthorized,
)

Schema = dict[str, Any]
JSON = "application/json"
TEXT: Schema = {"type": "string"}
# What rules.validate_name accepts: no "/", no control character (Unicode category Cc).
NAME_SCHEMA: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": "^[^/\\u0000-\\u001f\\u007f-\\u009f]+$",
}
# What an authenticated route can answer besides its own errors (chalicelib/edge/http.py).
AUTHENTICATED: tuple[type[DomainError], ...] = (Unauthorized, RateLimited, BackendUnavailable)


class Setting(NamedTuple):
    """A schema value the deployment sets (a number setting): read when the document renders."""

    name: str


class Param(NamedTuple):
    name: str
    where: str  # "path", "query" or "header"
    schema: Schema = TEXT
    description: str = ""
    required: bool = False


class Body(NamedTuple):
    schema: str | Schema  # a component's name, or a schema
    media: str = JSON
    description: str = ""
    binary: tuple[str, ...] = ()  # further media types of the same bytes (format: binary)


class Reply(NamedTuple):
    """An answer other than an error: its body (a component's name or a schema; None for no
    body) in each of its media types, and the headers it sets."""

    description: str
    schema: str | Schema | None = None
    media: tuple[str, ...] = (JSON,)
    headers: tuple[str, ...] = ()


class Route(NamedTuple):
    """One operation. `errors` are the domain errors it answers with; an authenticated
    (`secured`) route also answers with AUTHENTICATED's."""

    method: str
    path: str
    op_id: str
    summary: str
    replies: dict[str, Reply]
    errors: tuple[type[DomainError], ...] = ()
    params: tuple[Param, ...] = ()
    body: Body | None = None
    secured: bool = True

    def all_errors(self) -> tuple[type[DomainError], ...]:
        return (*self.errors, *AUTHENTICATED) if self.secured else self.errors


# The operations that honour Idempotency-Key (their handlers: @idempotent.keyed).
IDEMPOTENT = frozenset(
    {"createFile", "startUpload", "completeUpload", "startExport", "restoreVersion"}
    | {"restoreTrashed", "startReplaceUpload", "copyFile"}
)
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    {
        "type": "string",
        "minLength": 1,
        "maxLength": 257,
        "pattern": '^[!-~]{1,255}$|^"[!-~]{1,255}"$',
        "example": "8e03978e-40d5-43e8-bc93-6894a57f9324",
    },
    "1-255 visible ASCII characters, no spaces (a UUID; quoted, it is the same key): the same"
    " request with the same key within 24 hours answers the first answer again, with"
    " Idempotent-Replayed: true, and does nothing (docs/idempotency.md). Final 4xx answers"
    " are replayed too; 5xx, 408, 409, 423, 425 and 429 are not kept (a retry runs again).",
)


def keyed(routes: tuple[Route, ...]) -> tuple[Route, ...]:
    """The routes, those in IDEMPOTENT honouring Idempotency-Key."""
    return tuple(_keyed(route) if route.op_id in IDEMPOTENT else route for route in routes)


def _keyed(route: Route) -> Route:
    """The header, the replayed answers' header, 409 while the first request runs, 422 for
    another request (chalicelib/edge/idempotent.py)."""
    replies = {
        status: reply._replace(headers=(*reply.headers, "Idempotent-Replayed"))
        for status, reply in route.replies.items()
    }
    errors = (*route.errors, *(() if BadRequest in route.errors else (BadRequest,)))
    return route._replace(
        replies=replies,
        errors=(*errors, KeyInUse, KeyReused),
        params=(*route.params, IDEMPOTENCY_KEY),
    )


TEXT_BODY = Body(
    TEXT,
    "text/plain",
    "The file body: valid UTF-8 without NUL bytes, at most MAX_INLINE_BYTES (larger: an"
    " upload). application/octet-stream is taken too, for clients that send bytes as such.",
    binary=("application/octet-stream",),
)


# Shared by the route tables' parameters and examples.
FILE_ID = Param("file_id", "path", description="The file's id.")
EXAMPLE_ID = "3f2a9c0e5b7d41e8a6c4f1b2d3e4a5b6"
EXAMPLE_SHA = "9d5ed678fe57bcca610140957afab571e8f5d9e4b5c9f0a1b2c3d4e5f6a7b8c9"
EXAMPLE_FILE = {  # a file's metadata at its second version
    "id": EXAMPLE_ID,
    "name": "todo.txt",
    "size": 26,
    "sha256": EXAMPLE_SHA,
    "etag": f'"{EXAMPLE_SHA}"',
    "record_etag": f'"v2.{EXAMPLE_ID}"',
    "version": 2,
    "created_at": "2026-11-23T09:00:00Z",
    "updated_at": "2026-11-23T10:30:00Z",
    "expires_at": "2026-12-23T10:30:00Z",
}
