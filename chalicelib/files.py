"""File use cases: create, read, list, search, replace, rename, delete."""

from __future__ import annotations

import binascii
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from dataclasses import replace as replace_dc
from typing import Any

from chalicelib import blobkeys, clock, config, filecache, garbage, ids, limits, logs, pauses
from chalicelib.auth import Tenant
from chalicelib.blobs import BlobMissing, blobs
from chalicelib.db import Database, IntegrityError, OutcomeUnknown, Row, database
from chalicelib.errors import (
    BackendUnavailable,
    BadRequest,
    Conflict,
    NotFound,
    NotPlaintext,
    PreconditionFailed,
    TooLarge,
)

MAX_NAME = 255
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_QUERY = 1000  # characters of q
MAX_TERMS = 32  # words of q
MAX_CURSOR = 100  # characters of a cursor (ours are about 65)
_LIMIT = re.compile(r"[0-9]{1,9}")
READ_ATTEMPTS = 3  # rows followed when a body is gone under a reader
_WORD = re.compile(r"\w+")
# The cache keys a request prefetches with its key lookup (app.py, bench/).
meta_key, body_key = filecache.meta_key, filecache.body_key
read_cache_keys, metadata_cache_keys = filecache.read_cache_keys, filecache.metadata_cache_keys

COLUMNS = "id, tenant_id, name, size, sha256, version, blob_key, created_us, updated_us, expires_us"
SQL_GET = f"SELECT {COLUMNS} FROM files WHERE id = :id AND tenant_id = :t AND expires_us > :now"
SQL_BLOB_KEY = "SELECT blob_key FROM files WHERE id = :id"
SQL_INSERT = (
    f"INSERT INTO files ({COLUMNS}) VALUES"
    " (:id, :t, :name, :size, :sha256, :version, :blob_key, :created, :updated, :expires)"
)
SQL_REPLACE = (
    "UPDATE files SET size = :size, sha256 = :sha256, version = version + 1,"
    " blob_key = :blob_key, updated_us = :now, expires_us = :expires"
    " WHERE id = :id AND tenant_id = :t AND version = :version"
)
SQL_RENAME = (
    "UPDATE files SET name = :name, version = version + 1, updated_us = :now"
    " WHERE id = :id AND tenant_id = :t AND expires_us > :now"
)
SQL_EXPIRED_NAMED = (
    "SELECT id, blob_key FROM files WHERE tenant_id = :t AND name = :name AND expires_us <= :now"
)
SQL_DELETE = "DELETE FROM files WHERE id = :id AND tenant_id = :t"
SQL_SEARCH_DELETE = "DELETE FROM file_search WHERE file_id = :id"
SQL_SEARCH_INSERT = {
    "postgresql": (
        "INSERT INTO file_search (file_id, doc) VALUES (:id, to_tsvector('simple', :doc))"
    ),
    "sqlite": "INSERT INTO file_search (file_id, doc) VALUES (:id, :doc)",
}
SQL_SEARCH_MATCH = {
    "postgresql": "SELECT file_id FROM file_search WHERE doc @@ plainto_tsquery('simple', :q)",
    "sqlite": "SELECT file_id FROM file_search WHERE file_search MATCH :q",
}
SQL_LIST = f"SELECT {COLUMNS} FROM files WHERE tenant_id = :t AND expires_us > :now"
SQL_LIST_PREFIX = " AND substr(name, 1, length(:prefix)) = :prefix"
SQL_LIST_AFTER = " AND (created_us < :c OR (created_us = :c AND id < :i))"
SQL_LIST_ORDER = " ORDER BY created_us DESC, id DESC LIMIT :limit"


@dataclass(frozen=True)
class FileMeta:
    id: str
    tenant_id: str
    name: str
    size: int
    sha256: str
    version: int
    blob_key: str
    created_us: int
    updated_us: int
    expires_us: int

    @property
    def etag(self) -> str:
        return f'"{self.sha256}"'

    def public(self) -> dict[str, Any]:
        """The metadata a client sees."""
        return {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "etag": self.etag,
            "version": self.version,
            "created_at": clock.iso(self.created_us),
            "updated_at": clock.iso(self.updated_us),
            "expires_at": clock.iso(self.expires_us),
        }


def _meta(row: Row) -> FileMeta:
    return FileMeta(**{k: row[k] for k in FileMeta.__dataclass_fields__})


# --- validation -------------------------------------------------------------


def validate_name(name: str | None) -> str:
    if name is None or name == "":
        raise BadRequest("A file name is required: ?name=<1-255 characters>.")
    if len(name) > MAX_NAME:
        raise BadRequest(f"A file name is at most {MAX_NAME} characters.")
    if "/" in name:
        raise BadRequest("A file name may not contain '/'.")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        raise BadRequest("A file name may not contain control characters.")
    return name


def validate_body(body: bytes, limit: int) -> None:
    if len(body) > limit:
        raise TooLarge(
            f"The body is {len(body)} bytes; inline bodies are at most {limit} bytes."
            " Use POST /files/uploads for larger ones.",
            limit=limit,
        )
    if b"\x00" in body:
        raise NotPlaintext("The body is not plaintext: it contains a NUL byte.")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotPlaintext(f"The body is not valid UTF-8 (byte {exc.start}).") from exc


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    # ASCII digits only: str.isdigit() accepts "²" or "①", which int() refuses.
    if _LIMIT.fullmatch(raw) is None or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)


def encode_cursor(meta: FileMeta) -> str:
    raw = json.dumps([meta.created_us, meta.id], separators=(",", ":")).encode()
    return ids.b64url(raw)


def decode_cursor(cursor: str) -> tuple[int, str]:
    """What encode_cursor wrote, checked exactly: a short string of a time (a 64-bit
    integer, not a boolean) and a file id; anything else is a 400 before any query."""
    try:
        if len(cursor) <= MAX_CURSOR:
            raw = ids.unb64url(cursor)
            created, file_id = json.loads(raw)
            if type(created) is int and 0 <= created < 2**63 and ids.is_id(file_id):
                return created, file_id
    except (ValueError, TypeError, binascii.Error, RecursionError):
        pass
    raise BadRequest("The cursor is not valid; use next_cursor from a previous page.")


def _has_control(text: str) -> bool:
    """Control characters (NUL among them) or lone surrogates: no name holds one."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


def search_terms(q: str) -> list[str]:
    if len(q) > MAX_QUERY:
        raise BadRequest(f"q is at most {MAX_QUERY} characters.")
    terms = _WORD.findall(q.lower())
    if not terms:
        raise BadRequest("q must contain at least one word.")
    if len(terms) > MAX_TERMS:
        raise BadRequest(f"q has at most {MAX_TERMS} words.")
    return terms


# --- cache (the protocol: chalicelib/filecache.py) ---------------------------


def _cache_written(meta: FileMeta, body: bytes | None = None) -> None:
    filecache.written(asdict(meta), body)


def _from_cache(tenant: Tenant, file_id: str, hits: dict[str, bytes]) -> FileMeta | None:
    fields = filecache.cached(file_id, hits)
    if fields is None:
        return None
    if fields == "deleted":
        raise NotFound(f"No file {file_id}.")
    meta = FileMeta(**fields)
    if meta.tenant_id != tenant.id or meta.expires_us <= clock.now_us():
        raise NotFound(f"No file {file_id}.")
    return meta


# --- use cases --------------------------------------------------------------


def _index(db: Database, file_id: str, body: bytes, replace: bool) -> None:
    if replace:
        db.execute(SQL_SEARCH_DELETE, id=file_id)
    doc = body[: config.search_index_bytes()].decode("utf-8", "ignore")
    db.execute(SQL_SEARCH_INSERT[db.dialect], id=file_id, doc=doc)


def drop_blobs(keys: list[str]) -> None:
    """Delete bodies no row ever pointed at; a failure leaves an orphan the purge removes."""
    for key in keys:
        try:
            blobs().delete(key)
        except BackendUnavailable as exc:
            logs.warning("orphan body left for the purge", blob_key=key, error=exc.detail)


@contextmanager
def _new_body(tenant: Tenant, file_id: str, body: bytes) -> Iterator[str]:
    """Store a new body for a write of `file_id`'s row and yield its key.

    The one cleanup of a failed write: the body is deleted again only when it is certain
    that no committed row references it. A write whose outcome stayed unknown (the
    database could not be asked) leaves it to the purge, which checks the database first.
    """
    key = blobkeys.file_body(tenant.id, file_id)
    blobs().put(key, body)
    try:
        yield key
    except OutcomeUnknown as exc:
        logs.warning("new body left for the purge: outcome unknown", blob_key=key, error=exc.detail)
        raise
    except BaseException:
        drop_blobs([key])
        raise


def _settled(db: Database, outcome: OutcomeUnknown, file_id: str, blob_key: str) -> None:
    """After a COMMIT whose reply was lost: return if it committed the row pointing at
    `blob_key`; raise BackendUnavailable if it certainly did not (the new body may go), or
    the OutcomeUnknown again if the database cannot tell (the body stays)."""
    try:
        if not db.settle(outcome):
            raise outcome
        rows = db.query(SQL_BLOB_KEY, id=file_id)
        # Recorded as garbage: it committed, and another write replaced or deleted it since.
        committed = bool(rows and rows[0]["blob_key"] == blob_key) or garbage.recorded(db, blob_key)
    except OutcomeUnknown:
        raise
    except BackendUnavailable as exc:
        logs.warning("the write's outcome could not be read", error=exc.detail)
        raise outcome from exc
    if not committed:
        raise BackendUnavailable("database", outcome.detail) from outcome


def _remove_row(db: Database, tenant: Tenant, file_id: str) -> None:
    """The file's row and its search entry (SQLite's FTS table has no cascade)."""
    db.execute(SQL_SEARCH_DELETE, id=file_id)
    db.execute(SQL_DELETE, id=file_id, t=tenant.id)


def _free_expired_name(db: Database, tenant: Tenant, name: str, now: int) -> None:
    """An expired file no longer holds its name: remove its row, its body goes to garbage."""
    rows = db.query(SQL_EXPIRED_NAMED, t=tenant.id, name=name, now=now)
    for row in rows:
        _remove_row(db, tenant, row["id"])
    garbage.record(db, [row["blob_key"] for row in rows], now)


def _written(meta: FileMeta, body: bytes | None = None, collect: bool = False) -> None:
    """After a committed write: the cache; after one that made garbage, a few due bodies
    collected (a create stays one transaction)."""
    _cache_written(meta, body)
    if collect:
        garbage.collect_quietly()


def create(tenant: Tenant, name: str, body: bytes) -> FileMeta:
    validate_name(name)
    validate_body(body, config.max_inline_bytes())
    file_id = ids.new_id()
    with _new_body(tenant, file_id, body) as blob_key:
        meta = _insert_row(tenant, file_id, name, body, blob_key)
    _written(meta, body)
    return meta


def insert(
    tenant: Tenant, file_id: str, name: str, body: bytes, blob_key: str, reserved: int = 0
) -> FileMeta:
    """The row for a body already stored under `blob_key` (an upload's); on failure the
    body stays where it is (the upload can be completed again, or the purge removes it).

    `reserved`: bytes the quota already counts for this body (a pending upload's)."""
    meta = _insert_row(tenant, file_id, name, body, blob_key, reserved)
    _written(meta, body)
    return meta


def _insert_row(
    tenant: Tenant, file_id: str, name: str, body: bytes, blob_key: str, reserved: int = 0
) -> FileMeta:
    """The row, written only once its body is stored: a row never points at a missing body."""
    now = clock.now_us()
    meta = FileMeta(
        id=file_id,
        tenant_id=tenant.id,
        name=name,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        version=1,
        blob_key=blob_key,
        created_us=now,
        updated_us=now,
        expires_us=now + config.retention_days() * clock.DAY_US,
    )
    db = database()
    try:
        with db.transaction():
            _free_expired_name(db, tenant, name, now)
            growth = meta.size - reserved
            limits.check_storage(db, tenant.id, tenant.overrides, files=1, size=growth)
            db.execute(SQL_INSERT, t=meta.tenant_id, **_row_params(meta))
            _index(db, meta.id, body, replace=False)
    except IntegrityError as exc:
        raise Conflict(f"A file named {name!r} already exists.") from exc
    except OutcomeUnknown as exc:
        _settled(db, exc, file_id, blob_key)
    return meta


def _row_params(meta: FileMeta) -> dict[str, Any]:
    return {
        "id": meta.id,
        "name": meta.name,
        "size": meta.size,
        "sha256": meta.sha256,
        "version": meta.version,
        "blob_key": meta.blob_key,
        "created": meta.created_us,
        "updated": meta.updated_us,
        "expires": meta.expires_us,
    }


def get_meta(tenant: Tenant, file_id: str, hits: dict[str, bytes] | None = None) -> FileMeta:
    if not ids.is_id(file_id):
        raise NotFound(f"No file {file_id}.")
    meta = _from_cache(tenant, file_id, hits or {})
    if meta is not None:
        return meta
    rows = database().query(SQL_GET, id=file_id, t=tenant.id, now=clock.now_us())
    if not rows:
        raise NotFound(f"No file {file_id}.")
    meta = _meta(rows[0])
    filecache.read_through(asdict(meta))
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
    pauses.point("files.read.loaded")
    meta, body = _fetch_body(tenant, meta)
    filecache.read_through_body(file_id, meta.sha256, body, hits)
    return meta, body


def _fetch_body(tenant: Tenant, meta: FileMeta) -> tuple[FileMeta, bytes]:
    """The row's body. A body gone means the row we hold is stale (a concurrent replace or
    delete, or a cached row): read the row again, from the database, and follow it; a row
    that still points at a missing body is a storage fault, never a 404."""
    for _attempt in range(READ_ATTEMPTS):
        try:
            return meta, blobs().get(meta.blob_key)
        except BlobMissing:
            rows = database().query(SQL_GET, id=meta.id, t=tenant.id, now=clock.now_us())
            if not rows:
                raise NotFound(f"No file {meta.id}.") from None
            fresh = _meta(rows[0])
            if fresh.blob_key == meta.blob_key:
                break
            meta = fresh
    logs.error("a file's body is missing from storage", file=meta.id, blob_key=meta.blob_key)
    raise BackendUnavailable("storage", "body missing")


def list_files(
    tenant: Tenant,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    prefix: str | None = None,
    q: str | None = None,
) -> tuple[list[FileMeta], str | None]:
    db = database()
    sql = SQL_LIST
    params: dict[str, Any] = {"t": tenant.id, "now": clock.now_us(), "limit": limit + 1}
    if prefix:
        if len(prefix) > MAX_NAME:
            raise BadRequest(f"prefix is at most {MAX_NAME} characters.")
        if _has_control(prefix):
            raise BadRequest("prefix may not contain control characters (no name does).")
        sql += SQL_LIST_PREFIX
        params["prefix"] = prefix
    if cursor:
        sql += SQL_LIST_AFTER
        params["c"], params["i"] = decode_cursor(cursor)
    if q is not None:
        terms = search_terms(q)
        sql += f" AND id IN ({SQL_SEARCH_MATCH[db.dialect]})"
        params["q"] = " ".join(terms) if db.dialect == "postgresql" else _fts5_query(terms)
    rows = db.query(sql + SQL_LIST_ORDER, **params)
    items = [_meta(row) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1]) if len(rows) > limit else None
    return items, next_cursor


def _fts5_query(terms: list[str]) -> str:
    """Every term must match, each quoted so FTS5 reads no operator in it."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def etag_matches(meta: FileMeta, header: str | None, weak: bool = True) -> bool:
    """Whether an If-None-Match (weak comparison) or, with `weak=False`, an If-Match list
    (strong comparison: a `W/` tag never matches, RFC 9110 13.1.1) names the current body."""
    if header is None:
        return False
    tags = [t.strip() for t in header.split(",")]
    if weak:
        tags = [t.removeprefix("W/") for t in tags]
    return "*" in tags or meta.etag in tags


def _matches(meta: FileMeta, if_match: str | None) -> bool:
    return if_match is None or etag_matches(meta, if_match, weak=False)


def replace(tenant: Tenant, file_id: str, body: bytes, if_match: str | None = None) -> FileMeta:
    validate_body(body, config.max_inline_bytes())
    meta = get_meta(tenant, file_id)
    if not _matches(meta, if_match):
        raise PreconditionFailed("The file changed since you read it (If-Match does not match).")
    with _new_body(tenant, file_id, body) as blob_key:
        new = _switch_body(tenant, meta, body, blob_key, if_match)
    _written(new, body, collect=True)
    return new


def _switch_body(
    tenant: Tenant, meta: FileMeta, body: bytes, blob_key: str, if_match: str | None
) -> FileMeta:
    """Point the row at the new body if nobody wrote in between; the old body goes to garbage."""
    db = database()
    for _attempt in range(3):
        now = clock.now_us()
        new = replace_dc(
            meta,
            size=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            version=meta.version + 1,
            blob_key=blob_key,
            updated_us=now,
            expires_us=now + config.retention_days() * clock.DAY_US,
        )
        if _update_row(db, tenant, meta, new, body):
            return new
        meta = get_meta(tenant, meta.id)
        if if_match is not None and not _matches(meta, if_match):
            raise PreconditionFailed(
                "The file changed since you read it (If-Match does not match)."
            )
    raise Conflict("The file is being changed by others; retry.")


def _update_row(db: Database, tenant: Tenant, meta: FileMeta, new: FileMeta, body: bytes) -> bool:
    """One attempt: whether the row still had `meta.version` and now points at the new body."""
    try:
        with db.transaction():
            growth = new.size - meta.size
            limits.check_storage(db, tenant.id, tenant.overrides, files=0, size=growth)
            changed = db.execute(
                SQL_REPLACE,
                size=new.size,
                sha256=new.sha256,
                blob_key=new.blob_key,
                now=new.updated_us,
                expires=new.expires_us,
                id=meta.id,
                t=tenant.id,
                version=meta.version,
            )
            if changed:
                garbage.record(db, [meta.blob_key], new.updated_us)
                _index(db, meta.id, body, replace=True)
    except OutcomeUnknown as exc:
        _settled(db, exc, meta.id, new.blob_key)
        return True
    return bool(changed)


def rename(tenant: Tenant, file_id: str, name: str) -> FileMeta:
    validate_name(name)
    db = database()
    now = clock.now_us()
    try:
        with db.transaction():
            _free_expired_name(db, tenant, name, now)
            changed = db.execute(SQL_RENAME, name=name, now=now, id=file_id, t=tenant.id)
            rows = db.query(SQL_GET, id=file_id, t=tenant.id, now=now) if changed else []
    except IntegrityError as exc:
        raise Conflict(f"A file named {name!r} already exists.") from exc
    if not rows:
        raise NotFound(f"No file {file_id}.")
    meta = _meta(rows[0])
    _written(meta)
    return meta


def delete(tenant: Tenant, file_id: str) -> None:
    db = database()
    now = clock.now_us()
    try:
        with db.transaction():
            rows = db.query(SQL_GET, id=file_id, t=tenant.id, now=now)
            if rows:
                _remove_row(db, tenant, file_id)
                garbage.record(db, [rows[0]["blob_key"]], now)
    except OutcomeUnknown as exc:
        _settled_delete(db, exc, file_id)
    if not rows:
        raise NotFound(f"No file {file_id}.")
    filecache.deleted(file_id)
    garbage.collect_quietly()


def _settled_delete(db: Database, outcome: OutcomeUnknown, file_id: str) -> None:
    """After a lost COMMIT reply of a delete: return if the row is gone, raise otherwise."""
    try:
        gone = db.settle(outcome) and not db.query(SQL_BLOB_KEY, id=file_id)
    except BackendUnavailable as exc:
        logs.warning("the delete's outcome could not be read", error=exc.detail)
        raise outcome from exc
    if not gone:
        raise outcome
