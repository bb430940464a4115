"""The core's own exceptions; chalicelib.edge.http maps each to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """`status` and `code` go into the HTTP answer; `description` into the OpenAPI document."""

    status = 400
    code = "BadRequest"
    description = ""

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class BadRequest(DomainError):
    status = 400
    code = "BadRequest"
    description = (
        "Bad input: a parameter, name, cursor or JSON body is not valid, or a precondition"
        " header is one the route cannot honour (it says why)."
    )


class Unauthorized(DomainError):
    status = 401
    code = "Unauthorized"
    description = "No API key, or the key is not valid."


class Forbidden(DomainError):
    """A signed link that is forged or expired (never used for another tenant's data)."""

    status = 403
    code = "Forbidden"
    description = "A signed link is forged or expired."


class NotFound(DomainError):
    status = 404
    code = "NotFound"
    description = (
        "No such file, kept version, trashed file, upload, task, link target or page asset"
        " (another tenant's id answers 404 too)."
    )


class Conflict(DomainError):
    status = 409
    code = "Conflict"
    description = (
        "The name is taken by another file of the tenant (a trashed file's too, when it is"
        " restored), or the task already succeeded or failed."
    )


class PreconditionFailed(DomainError):
    status = 412
    code = "PreconditionFailed"
    description = (
        "If-Match names neither the file's body nor its record as they are now (or no file is"
        " there), or If-None-Match: * and a file is there."
    )


class Gone(DomainError):
    status = 410
    code = "Gone"
    description = (
        "The changes after this cursor are past the retention period: list the files again"
        " (GET /files) and follow from GET /changes/latest."
    )


class TooLarge(DomainError):
    status = 413
    code = "PayloadTooLarge"
    description = (
        "The body is larger than the inline limit; an upload's, than MAX_UPLOAD_BYTES or the"
        " size its link was signed for; a diffed version, than DIFF_MAX_BYTES."
    )


class NotPlaintext(DomainError):
    status = 415
    code = "UnsupportedMediaType"
    description = (
        "The body is not plaintext (valid UTF-8, no NUL byte), or its Content-Type is not one"
        " the route takes."
    )


class KeyInUse(DomainError):
    """The first request with this Idempotency-Key is still running (docs/idempotency.md)."""

    status = 409
    code = "IdempotencyKeyInUse"
    description = (
        "A request with this Idempotency-Key is still running: retry after Retry-After seconds"
        " to get its answer."
    )

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class KeyReused(DomainError):
    status = 422
    code = "IdempotencyKeyReused"
    description = (
        "This Idempotency-Key was used within 24 hours for a different request (another"
        " method, path, query, body or precondition): use a new key for a new request."
    )


class RangeNotSatisfiable(DomainError):
    """A Range none of whose bytes the body has (its size goes in Content-Range)."""

    status = 416
    code = "RangeNotSatisfiable"
    description = (
        "Range starts at or past the end of the body (or asks for its last 0 bytes):"
        " Content-Range: bytes */SIZE says its length."
    )

    def __init__(self, size: int) -> None:
        last = f"bytes=0-{size - 1} or " if size else ""
        super().__init__(
            f"The body has {size} bytes: no byte of the requested range is in it;"
            f" ask for {last}a suffix such as bytes=-100.",
            size=size,
        )
        self.size = size


class QuotaExceeded(DomainError):
    status = 403
    code = "QuotaExceeded"
    description = (
        "A quota (files, bytes, running tasks, export archives) is full: the body says which,"
        " with used and limit."
    )


class RateLimited(DomainError):
    status = 429
    code = "TooManyRequests"
    description = "Too many requests: wait for Retry-After seconds."

    def __init__(
        self, message: str, retry_after: int, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = headers or {}


class BackendUnavailable(DomainError):
    """A database, blob store, queue or secret store call failed: retry later."""

    status = 503
    code = "ServiceUnavailable"
    description = "A backend is unavailable: retry after Retry-After seconds."

    def __init__(self, component: str, detail: str = "") -> None:
        super().__init__(f"The {component} is unavailable; retry later.")
        self.component = component
        self.detail = detail
