"""Every environment variable the app reads, read on use (never at import).

Each name is declared once, with its default and meaning, in chalicelib/settings_table.py;
reading a name declared nowhere there is an error.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from chalicelib.settings_table import SETTINGS

if TYPE_CHECKING:
    from pathlib import Path


class MissingSetting(RuntimeError):
    """A production setting is absent inside Lambda."""


def names(*groups: str) -> tuple[str, ...]:
    """The declared settings of the given groups (chalicelib/settings_table.py)."""
    return tuple(name for name, setting in SETTINGS.items() if setting.group in groups)


# Each declared default as a string (the table never changes at run time).
_DEFAULTS = {name: str(setting.default) for name, setting in SETTINGS.items()}


def _default(name: str) -> str:
    try:
        return _DEFAULTS[name]
    except KeyError:
        raise LookupError(f"{name} is not declared in chalicelib/settings_table.py") from None


def get(name: str) -> str:
    """The setting's value; its declared default when it is unset or empty."""
    default = _default(name)
    return os.environ.get(name, "").strip() or default


def in_lambda() -> bool:
    return bool(get("AWS_LAMBDA_FUNCTION_NAME"))


def get_int(name: str) -> int:
    raw = get(name)
    try:
        return int(raw)
    except ValueError as exc:
        raise MissingSetting(f"{name} must be an integer, got {raw!r}") from exc


def get_float(name: str) -> float:
    raw = get(name)
    try:
        return float(raw)
    except ValueError as exc:
        raise MissingSetting(f"{name} must be a number, got {raw!r}") from exc


def backend(name: str) -> str:
    """A backend's connection setting; inside Lambda an empty one is an error."""
    value = get(name)
    if not value and in_lambda():
        raise MissingSetting(f"{name} is not set; inside Lambda there is no embedded fall-back")
    return value


def data_dir() -> Path:
    from pathlib import Path  # only the embedded drivers need it

    return Path(get("DATA_DIR")).resolve()


def max_inline_bytes() -> int:
    """Bodies sent or answered inline: the setting (default 4 MiB), never above what fits a
    Lambda event and response once base64-encoded (chalicelib/event_limits.py)."""
    # `import a.b as b`: no importlib._handle_fromlist on every request
    import chalicelib.event_limits as payloads

    return min(get_int("MAX_INLINE_BYTES"), payloads.INLINE_CEILING)


def max_upload_bytes() -> int:
    return get_int("MAX_UPLOAD_BYTES")


def retention_days() -> int:
    return get_int("RETENTION_DAYS")


def max_versions_per_file() -> int:
    return max(1, get_int("MAX_VERSIONS_PER_FILE"))


def diff_max_bytes() -> int:
    return max(0, get_int("DIFF_MAX_BYTES"))


def cache_ttl_seconds() -> int:
    return get_int("CACHE_TTL_SECONDS")


def cache_body_max_bytes() -> int:
    return get_int("CACHE_BODY_MAX_BYTES")


def search_index_bytes() -> int:
    return get_int("SEARCH_INDEX_BYTES")


def retry_after_seconds() -> int:
    return get_int("RETRY_AFTER_SECONDS")


def upload_url_seconds() -> int:
    return get_int("UPLOAD_URL_SECONDS")


def read_url_seconds() -> int:
    """Lifetime of the link a GET of a body too large to answer inline redirects to."""
    return max(1, get_int("READ_URL_SECONDS"))


def public_base_url() -> str:
    """Base URL the local blob driver puts in the upload and download links it makes."""
    port = get("PORT")
    return (get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}").rstrip("/")


def secrets_ttl_seconds() -> float:
    """How long a secret fetched from Secrets Manager is reused before it is read again."""
    return get_float("SECRETS_TTL_SECONDS")


def database_sslmode() -> str:
    """TLS mode for a database given by an RDS secret (the server also requires TLS)."""
    return get("DATABASE_SSLMODE")


def healthcheck_base_url() -> str:
    """The deployed API the daily health check calls (HTTPS inside Lambda)."""
    port = get("PORT")
    return (backend("HEALTHCHECK_BASE_URL") or f"http://127.0.0.1:{port}").rstrip("/")


def alert_url() -> str:
    """The remote alert service the health check notifies on failure ('' locally: log only)."""
    return backend("ALERT_URL")


def healthcheck_timeout_seconds() -> float:
    return get_float("HEALTHCHECK_TIMEOUT_SECONDS")


def stage() -> str:
    return get("STAGE")


# --- background tasks (chalicelib/tasks/, docs/tasks.md) -------------------------------


def task_max_attempts() -> int:
    """Failed attempts in a row after which a task is failed (keep it below maxReceiveCount)."""
    return max(1, get_int("TASK_MAX_ATTEMPTS"))


def task_backoff_seconds(attempt: int) -> int:
    """How long a failed task's message stays invisible before its next attempt."""
    base = get_float("TASK_BACKOFF_BASE_SECONDS")
    return int(min(get_float("TASK_BACKOFF_MAX_SECONDS"), base * 2 ** (attempt - 1)))


def task_safety_factor() -> float:
    """Hand the task off when the time left < this times the longest step so far + the margin."""
    return get_float("TASK_SAFETY_FACTOR")


def task_margin_ms() -> int:
    return get_int("TASK_MARGIN_MS")


def task_relay_after_seconds() -> int:
    """The worker re-sends task messages left unsent for longer than this."""
    return get_int("TASK_RELAY_AFTER_SECONDS")


def inline_task_budget_ms() -> int:
    """The in-process queue's stand-in for a Lambda invocation's time limit."""
    return get_int("INLINE_TASK_BUDGET_MS")


def inline_max_receives() -> int:
    """The in-process queue's maxReceiveCount: receives before a message is dead-lettered."""
    return max(1, get_int("INLINE_MAX_RECEIVES"))


def export_batch_files() -> int:
    return max(1, get_int("EXPORT_BATCH_FILES"))


def export_batch_bytes() -> int:
    return max(1, get_int("EXPORT_BATCH_BYTES"))


def export_part_bytes() -> int:
    """Target size of an archive part (the blob store may require more: S3 needs 5 MiB)."""
    return max(1, get_int("EXPORT_PART_BYTES"))


def export_url_seconds() -> int:
    """Lifetime of an export's download link (made afresh on each GET /tasks/{id})."""
    return max(1, get_int("EXPORT_URL_SECONDS"))


def export_retention_days() -> int:
    """Export archives (and leftovers of failed exports) older than this are purged."""
    return max(1, get_int("EXPORT_RETENTION_DAYS"))


def purge_batch() -> int:
    return max(1, get_int("PURGE_BATCH"))


def purge_orphan_grace_seconds() -> int:
    """A body without a row is removed only once older than this (an upload may be on its way,
    or a write whose outcome was unknown may still be settling)."""
    return get_int("PURGE_ORPHAN_GRACE_SECONDS")


def task_retention_days() -> int:
    """Finished task rows older than this are purged."""
    return max(1, get_int("TASK_RETENTION_DAYS"))


def export_fetch_threads() -> int:
    """Bodies an export fetches at once (bounded: each holds a body in memory)."""
    return max(1, get_int("EXPORT_FETCH_THREADS"))


# --- database timeouts and the body collector (chalicelib/db, chalicelib/files/orphans.py) --------


def db_connect_timeout_seconds() -> float:
    """How long opening a database connection may take (TCP, TLS, authentication)."""
    return max(0.1, get_float("DB_CONNECT_TIMEOUT_SECONDS"))


def db_statement_timeout_seconds() -> float:
    """How long one statement may run: the server cancels it then, and the client gives up
    one second later (a COMMIT whose reply does not come back in time has an unknown outcome,
    resolved by reading the row again)."""
    return max(0.1, get_float("DB_STATEMENT_TIMEOUT_SECONDS"))


def garbage_grace_seconds() -> int:
    """A replaced or deleted body is kept this long, so a reader that loaded the old row (or
    a download link made from it) can still read it."""
    return max(0, get_int("GARBAGE_GRACE_SECONDS"))


def garbage_batch() -> int:
    """Bodies a write request collects after itself (the daily purge collects the rest)."""
    return max(0, get_int("GARBAGE_BATCH"))
