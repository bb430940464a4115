"""The file feature's other tables, in SQL written once for both drivers: pending uploads,
the ledger of bodies no row needs any more (`garbage`), and the writes the cache missed
(`cache_dirty`). Each function runs inside the caller's transaction, if there is one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.db import Database, Row

SQL_UPLOAD_ADD = (
    "INSERT INTO uploads (id, tenant_id, file_id, name, blob_key, size, created_us, expires_us)"
    " VALUES (:id, :t, :file_id, :name, :blob_key, :size, :now, :expires)"
)
SQL_UPLOAD_GET = (
    "SELECT id, file_id, name, blob_key, size, expires_us, completed_us FROM uploads"
    " WHERE id = :id AND tenant_id = :t"
)
SQL_UPLOAD_DELETE = "DELETE FROM uploads WHERE id = :id"
SQL_UPLOAD_COMPLETED = (
    "UPDATE uploads SET completed_us = :now WHERE id = :id AND completed_us IS NULL"
)
SQL_UPLOADS_STALE = (
    "SELECT id FROM uploads u WHERE expires_us < :cutoff"
    " AND NOT EXISTS (SELECT 1 FROM garbage g WHERE g.blob_key = u.blob_key) LIMIT :limit"
)
SQL_GARBAGE_RECORD = (
    "INSERT INTO garbage (blob_key, due_us) VALUES (:k, :due) ON CONFLICT (blob_key) DO NOTHING"
)
SQL_GARBAGE_RECORDED = "SELECT blob_key FROM garbage WHERE blob_key = :k"
SQL_GARBAGE_DUE = "SELECT blob_key FROM garbage WHERE due_us <= :now ORDER BY due_us LIMIT :limit"
SQL_GARBAGE_FORGET = "DELETE FROM garbage WHERE blob_key = :k"
SQL_STAGING_DUE = (
    "SELECT g.blob_key FROM garbage g JOIN uploads u ON u.blob_key = g.blob_key"
    " WHERE u.tenant_id = :t AND g.due_us <= :now ORDER BY g.due_us LIMIT :limit"
)
SQL_REFERENCED = (  # a file's current body, or a kept version's (a trashed file's too)
    "SELECT id FROM files WHERE blob_key = :k"
    " UNION ALL SELECT file_id FROM file_versions WHERE blob_key = :k"
)
# A copy's words are its source's, copied inside the database (its body is never read).
SQL_WORDS_COPY = (
    "UPDATE file_search SET doc = COALESCE((SELECT s.doc FROM file_search s"
    " WHERE s.file_id = :source), doc) WHERE file_id = :id"
)
SQL_DIRTY_MARK = (
    "INSERT INTO cache_dirty (file_id, version, created_us) VALUES (:id, :v, :now)"
    " ON CONFLICT (file_id, version) DO NOTHING"
)
SQL_DIRTY = "SELECT file_id, version FROM cache_dirty ORDER BY created_us LIMIT :limit"
SQL_DIRTY_DONE = "DELETE FROM cache_dirty WHERE file_id = :id AND version <= :v"
SQL_DIRTY_FORGET = "DELETE FROM cache_dirty WHERE file_id = :id AND version = :v"


def _db() -> Database:
    from chalicelib.db import database  # on use: a cached read loads no database port

    return database()


# --- uploads ----------------------------------------------------------------------------------


def add_upload(**fields: Any) -> None:
    """A pending upload: id, t, file_id, name, blob_key, size, now, expires."""
    _db().execute(SQL_UPLOAD_ADD, **fields)


def upload(tenant_id: str, upload_id: str) -> Row | None:
    rows = _db().query(SQL_UPLOAD_GET, id=upload_id, t=tenant_id)
    return rows[0] if rows else None


def delete_upload(upload_id: str) -> None:
    _db().execute(SQL_UPLOAD_DELETE, id=upload_id)


def upload_completed(upload_id: str, now: int) -> bool:
    """Whether this call marked the upload completed (False: it already was)."""
    return bool(_db().execute(SQL_UPLOAD_COMPLETED, id=upload_id, now=now))


# An upload that replaces a file's body (POST /files/{id}/uploads) names no new file: its
# `name` holds REPLACING (never part of a name) and then the If-Match its file must still
# meet when it completes ("*" when the client sent none).
REPLACING = "/"
MAX_CONDITION = 254  # the column's 255 characters, less the mark


def replacing(condition: str) -> str:
    """The `name` of an upload that replaces a body under `condition` (an If-Match value)."""
    return REPLACING + condition


def replace_condition(row: Row) -> str | None:
    """The If-Match a replacing upload's file must meet; None for an upload of a new file."""
    name = str(row["name"])
    return name[len(REPLACING) :] if name.startswith(REPLACING) else None


def stale_uploads(cutoff: int, limit: int) -> list[str]:
    """Uploads whose links expired before `cutoff` and whose staging objects the collector
    has deleted (until then they are reserved, chalicelib/tenants/store.py)."""
    return [str(row["id"]) for row in _db().query(SQL_UPLOADS_STALE, cutoff=cutoff, limit=limit)]


# --- the garbage ledger -----------------------------------------------------------------------


def record_garbage(keys: list[str], due: int) -> None:
    db = _db()
    for key in keys:
        db.execute(SQL_GARBAGE_RECORD, k=key, due=due)


def garbage_recorded(key: str) -> bool:
    return bool(_db().query(SQL_GARBAGE_RECORDED, k=key))


def referenced(key: str) -> bool:
    """Whether a file row or a kept version points at the body `key`."""
    return bool(_db().query(SQL_REFERENCED, k=key))


def due_garbage(now: int, limit: int) -> list[str]:
    return [str(r["blob_key"]) for r in _db().query(SQL_GARBAGE_DUE, now=now, limit=limit)]


def due_staging(tenant_id: str, now: int, limit: int) -> list[str]:
    """The tenant's upload staging objects due for collection (their links can write no more)."""
    rows = _db().query(SQL_STAGING_DUE, t=tenant_id, now=now, limit=limit)
    return [str(r["blob_key"]) for r in rows]


def forget_garbage(key: str) -> None:
    _db().execute(SQL_GARBAGE_FORGET, k=key)


def copy_words(source_id: str, file_id: str) -> None:
    """Give the new file `file_id` the indexed words of `source_id` (a copy of its body)."""
    _db().execute(SQL_WORDS_COPY, source=source_id, id=file_id)


# --- writes the cache missed ------------------------------------------------------------------


def mark_dirty(file_id: str, version: int, now: int) -> None:
    _db().execute(SQL_DIRTY_MARK, id=file_id, v=version, now=now)


def dirty(limit: int) -> list[tuple[str, int]]:
    """The oldest recorded writes the cache missed: (file id, version)."""
    rows = _db().query(SQL_DIRTY, limit=limit)
    return [(str(row["file_id"]), int(row["version"])) for row in rows]


def dirty_done(file_id: str, version: int) -> None:
    _db().execute(SQL_DIRTY_DONE, id=file_id, v=version)


def dirty_forget(file_id: str, version: int) -> None:
    _db().execute(SQL_DIRTY_FORGET, id=file_id, v=version)
