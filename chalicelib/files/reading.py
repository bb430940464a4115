"""Reading a file: its metadata and its body, from the cache when it holds them.

A cached read touches neither the database nor the bucket, and does not load their ports
either: they are imported on the first miss (a cold cache hit is measured, docs/bench.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from chalicelib import clock, config, logs, racepoints
from chalicelib.errors import BackendUnavailable, NotFound
from chalicelib.files import filecache
from chalicelib.files.rules import FileMeta, etag_matches

if TYPE_CHECKING:
    from chalicelib.tenants.apikeys import Tenant

READ_ATTEMPTS = 3  # rows followed when a body is gone under a reader


def missing(file_id: str) -> NotFound:
    return NotFound(f"No file {file_id}.")


def _row(tenant: Tenant, file_id: str) -> FileMeta | None:
    from chalicelib.files import store

    return store.repository().get(tenant.id, file_id, clock.now_us())


def get_meta(tenant: Tenant, file_id: str, hits: dict[str, bytes] | None = None) -> FileMeta:
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


class BodyAnswer(NamedTuple):
    """What a GET of a body answers: the body, a short-lived link to it (too large for a
    Lambda response), or neither (304: the client's copy is current)."""

    meta: FileMeta
    body: bytes | None = None
    link: str | None = None


def prefetch(file_id: str, body: bool = True) -> list[str]:
    """The cache entries a read may use (the body's too, unless only the metadata is asked
    for), fetched in the gate's one round trip."""
    return filecache.read_cache_keys(file_id) if body else filecache.metadata_cache_keys(file_id)


def conditional(
    tenant: Tenant, file_id: str, if_none_match: str | None, hits: dict[str, bytes]
) -> BodyAnswer:
    """GET /files/{id}: 304 when If-None-Match names the current body (weak comparison,
    RFC 9110 13.1.2), the body when it fits a Lambda response, otherwise a link to it."""
    meta = get_meta(tenant, file_id, hits)
    if etag_matches(meta, if_none_match):
        return BodyAnswer(meta)
    if meta.size > config.max_inline_bytes():
        return BodyAnswer(meta, link=_link(meta))
    meta, body = _body(tenant, meta, hits)
    return BodyAnswer(meta) if etag_matches(meta, if_none_match) else BodyAnswer(meta, body)


def _link(meta: FileMeta) -> str:
    from chalicelib.blobs import blobs

    return blobs().read_url(meta.blob_key, config.read_url_seconds())


def _body(tenant: Tenant, meta: FileMeta, hits: dict[str, bytes]) -> tuple[FileMeta, bytes]:
    """The body, from the cache or from storage (and then the row it belongs to)."""
    cached = filecache.cached_body(meta.id, meta.sha256, hits)
    if cached is not None:
        return meta, cached
    racepoints.point("files.read.body_missed")
    meta, body = _fetch_body(tenant, meta)
    filecache.read_through_body(meta.id, meta.sha256, body, hits)
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


def if_match(answer: BodyAnswer, header: str | None) -> BodyAnswer:
    """A read under If-Match: 412 unless it names what was read (RFC 9110 13.1.1)."""
    from chalicelib.errors import PreconditionFailed
    from chalicelib.files.rules import if_match_holds

    if not if_match_holds(answer.meta, header):
        raise PreconditionFailed("The file does not have the ETag If-Match names.")
    return answer


def _date(value: str | None) -> int | None:
    """An HTTP-date in whole seconds; None for none or one that is not valid (RFC 9110: such a
    date is ignored)."""
    import email.utils

    try:
        return int(email.utils.parsedate_to_datetime(value).timestamp()) if value else None
    except (TypeError, ValueError, IndexError):
        return None


def preconditions(answer: BodyAnswer, headers: Mapping[str, str]) -> BodyAnswer:
    """A conditional GET's other preconditions, in RFC 9110 13.2.2's order (If-None-Match was
    answered by `conditional`): If-Match, else If-Unmodified-Since (412); If-Modified-Since
    when there is no If-None-Match (304). Dates compare whole seconds of updated_at."""
    from chalicelib.errors import PreconditionFailed

    changed = answer.meta.updated_us // 1_000_000
    if "if-match" in headers:
        if_match(answer, headers.get("if-match"))
    elif (since := _date(headers.get("if-unmodified-since"))) is not None and changed > since:
        raise PreconditionFailed("The file changed after If-Unmodified-Since.")
    if "if-none-match" not in headers:
        since = _date(headers.get("if-modified-since"))
        if since is not None and changed <= since:
            return BodyAnswer(answer.meta)  # 304
    return answer


def metadata_unchanged(meta: FileMeta, headers: Mapping[str, str]) -> bool:
    """GET /files/{id}/metadata, whose ETag is the record's: whether If-None-Match names it (a
    304, weak comparison); 412 first when If-Match names neither of the file's ETags."""
    if_none_match = headers.get("if-none-match")
    if_match(BodyAnswer(meta), headers.get("if-match"))
    if if_none_match is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or meta.record_etag in tags
