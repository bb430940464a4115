"""Reading a file: its metadata and its body, from the cache when it holds them.

A cached read touches neither the database nor the bucket, and does not load their ports
either: they are imported on the first miss (a cold cache hit is measured, docs/bench.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib import clock, ids, logs, racepoints
from chalicelib.errors import BackendUnavailable, NotFound
from chalicelib.files import filecache
from chalicelib.files.rules import FileMeta

if TYPE_CHECKING:
    from chalicelib.tenants.apikeys import Tenant

READ_ATTEMPTS = 3  # rows followed when a body is gone under a reader


def missing(file_id: str) -> NotFound:
    return NotFound(f"No file {file_id}.")


def _row(tenant: Tenant, file_id: str) -> FileMeta | None:
    from chalicelib.db import file_repository

    return file_repository().get(tenant.id, file_id, clock.now_us())


def get_meta(tenant: Tenant, file_id: str, hits: dict[str, bytes] | None = None) -> FileMeta:
    if not ids.is_id(file_id):
        raise missing(file_id)
    meta = _from_cache(tenant, file_id, hits or {})
    if meta is not None:
        return meta
    meta = _row(tenant, file_id)
    if meta is None:
        raise missing(file_id)
    filecache.read_through(meta)
    return meta


def _from_cache(tenant: Tenant, file_id: str, hits: dict[str, bytes]) -> FileMeta | None:
    meta = filecache.cached(file_id, hits)
    if meta is None:
        return None
    if meta == "deleted" or meta.tenant_id != tenant.id or meta.expires_us <= clock.now_us():
        raise missing(file_id)
    return meta


def read(
    tenant: Tenant,
    file_id: str,
    hits: dict[str, bytes] | None = None,
    wanted: Callable[[FileMeta], bool] | None = None,
) -> tuple[FileMeta, bytes | None]:
    """The metadata and the body; no body (None) when `wanted` says the metadata suffices."""
    hits = hits or {}
    meta = get_meta(tenant, file_id, hits)
    if wanted is not None and not wanted(meta):
        return meta, None
    cached = filecache.cached_body(file_id, meta.sha256, hits)
    if cached is not None:
        return meta, cached
    racepoints.point("files.read.loaded")
    meta, body = _fetch_body(tenant, meta)
    filecache.read_through_body(file_id, meta.sha256, body, hits)
    return meta, body


def _fetch_body(tenant: Tenant, meta: FileMeta) -> tuple[FileMeta, bytes]:
    """The row's body. A body gone means the row we hold is stale (a concurrent replace or
    delete, or a cached row): read the row again, from the database, and follow it; a row
    that still points at a missing body is a storage fault, never a 404."""
    from chalicelib.blobs import BlobMissing, blobs

    for _attempt in range(READ_ATTEMPTS):
        try:
            return meta, blobs().get(meta.blob_key)
        except BlobMissing:
            fresh = _row(tenant, meta.id)
            if fresh is None:
                raise missing(meta.id) from None
            if fresh.blob_key == meta.blob_key:
                break
            meta = fresh
    logs.error("a file's body is missing from storage", file=meta.id, blob_key=meta.blob_key)
    raise BackendUnavailable("storage", "body missing")
