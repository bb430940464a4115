"""Every environment variable the app reads, read on use (never at import)."""

from __future__ import annotations

import os
from pathlib import Path


class MissingSetting(RuntimeError):
    """A production setting is absent inside Lambda."""


def in_lambda() -> bool:
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def get(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def get_int(name: str, default: int) -> int:
    raw = get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise MissingSetting(f"{name} must be an integer, got {raw!r}") from exc


def get_float(name: str, default: float) -> float:
    raw = get(name)
    if not raw:
        return default
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
    return Path(get("DATA_DIR") or ".data").resolve()


def max_inline_bytes() -> int:
    return get_int("MAX_INLINE_BYTES", 5 * 1024 * 1024)


def max_upload_bytes() -> int:
    return get_int("MAX_UPLOAD_BYTES", 100 * 1024 * 1024)


def retention_days() -> int:
    return get_int("RETENTION_DAYS", 30)


def cache_ttl_seconds() -> int:
    return get_int("CACHE_TTL_SECONDS", 300)


def cache_body_max_bytes() -> int:
    return get_int("CACHE_BODY_MAX_BYTES", 64 * 1024)


def search_index_bytes() -> int:
    return get_int("SEARCH_INDEX_BYTES", 256 * 1024)


def retry_after_seconds() -> int:
    return get_int("RETRY_AFTER_SECONDS", 5)


def upload_url_seconds() -> int:
    return get_int("UPLOAD_URL_SECONDS", 900)


def public_base_url() -> str:
    """Base URL the local blob driver puts in the upload and download links it makes."""
    port = get("PORT") or "8000"
    return (get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}").rstrip("/")
