"""The core's own exceptions; chalicelib.web maps each to one HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "BadRequest"

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class BadRequest(DomainError):
    status = 400
    code = "BadRequest"


class Unauthorized(DomainError):
    status = 401
    code = "Unauthorized"


class Forbidden(DomainError):
    """A signed link that is forged or expired (never used for another tenant's data)."""

    status = 403
    code = "Forbidden"


class NotFound(DomainError):
    status = 404
    code = "NotFound"


class Conflict(DomainError):
    status = 409
    code = "Conflict"


class PreconditionFailed(DomainError):
    status = 412
    code = "PreconditionFailed"


class TooLarge(DomainError):
    status = 413
    code = "PayloadTooLarge"


class NotPlaintext(DomainError):
    status = 415
    code = "UnsupportedMediaType"


class QuotaExceeded(DomainError):
    status = 403
    code = "QuotaExceeded"


class RateLimited(DomainError):
    status = 429
    code = "TooManyRequests"

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

    def __init__(self, component: str, detail: str = "") -> None:
        super().__init__(f"The {component} is unavailable; retry later.")
        self.component = component
        self.detail = detail
