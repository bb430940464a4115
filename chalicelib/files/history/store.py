"""History's tables, in SQL written once for both drivers: `file_versions` (every kept version of
a file, the current one included) and `trash` (deleted files, out of `files` so that their
names are free). Each function runs inside the caller's transaction, if there is one.

A version read is one statement: it joins the live `files` row, so a trashed, expired or
another tenant's file has no versions to read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from chalicelib import clock

if TYPE_CHECKING:
    from chalicelib.db import Database, Row
    from chalicelib.files.rules import FileMeta

V_COLUMNS = (
    "file_id, version, tenant_id, name, size, sha256, blob_key, owns_body, created_us,"
    " superseded_us, expires_us"
)
_V_SELECT = (
    "SELECT v.file_id, v.version, v.tenant_id, v.name, v.size, v.sha256, v.blob_key,"
    " v.owns_body, v.created_us, v.superseded_us, v.expires_us"
    " FROM file_versions v JOIN files f ON f.id = v.file_id"
    " WHERE f.id = :id AND f.tenant_id = :t AND f.expires_us > :now AND v.expires_us > :now"
)
SQL_V_GET = _V_SELECT + " AND v.version = :v"
SQL_V_PAIR = (
    _V_SELECT + " AND (v.version = :a OR v.version = :b OR (:cur = 1 AND v.superseded_us IS NULL))"
)
SQL_V_PAGE = (
    "SELECT f.id AS live_id, v.file_id, v.version, v.tenant_id, v.name, v.size, v.sha256,"
    " v.blob_key, v.owns_body, v.created_us, v.superseded_us, v.expires_us"
    " FROM files f LEFT JOIN file_versions v ON v.file_id = f.id"
    " AND v.expires_us > :now AND v.version < :before"
    " WHERE f.id = :id AND f.tenant_id = :t AND f.expires_us > :now"
    " ORDER BY v.version DESC LIMIT :limit"
)
SQL_V_OF = f"SELECT {V_COLUMNS} FROM file_versions WHERE file_id = :id AND version = :v"
SQL_V_ADD = (
    f"INSERT INTO file_versions ({V_COLUMNS}) VALUES (:file_id, :version, :tenant_id, :name,"
    " :size, :sha256, :blob_key, :owns_body, :created_us, NULL, :expires_us)"
)
SQL_V_SUPERSEDE = (
    "UPDATE file_versions SET superseded_us = :now, expires_us = :expires"
    " WHERE file_id = :id AND version = :v AND superseded_us IS NULL"
)
SQL_V_OWNED_UPTO = (
    "SELECT blob_key FROM file_versions WHERE file_id = :id AND version <= :v AND owns_body = 1"
)
SQL_V_DELETE_UPTO = (
    "DELETE FROM file_versions WHERE file_id = :id AND version <= :v"
    " RETURNING tenant_id, size, owns_body"
)
SQL_V_ADOPT = (
    "UPDATE file_versions SET owns_body = 1 WHERE file_id = :id AND blob_key = :k AND version ="
    " (SELECT MIN(version) FROM file_versions WHERE file_id = :id AND blob_key = :k)"
    " RETURNING tenant_id, size"
)
SQL_V_EXPIRED = (
    "SELECT file_id, version, blob_key, owns_body FROM file_versions"
    " WHERE expires_us <= :now ORDER BY expires_us, file_id LIMIT :limit"
)
SQL_V_FORGET = (
    "DELETE FROM file_versions WHERE file_id = :id AND version = :v AND expires_us <= :now"
    " RETURNING tenant_id, size, owns_body"
)

# The tenant's counters (migration 12, docs/scale.md): `versions_bytes` is every body its kept
# versions own (current, history, trash), `trash_bytes` the share of trashed files. Changed in
# the transaction that changes the rows, after them; recounted by the daily purge.
SQL_COUNT_VERSIONS = (
    "UPDATE tenants SET versions_bytes = versions_bytes + CAST(:b AS BIGINT), trash_bytes"
    " = trash_bytes + CASE WHEN EXISTS (SELECT 1 FROM trash WHERE file_id = :f)"
    " THEN CAST(:b AS BIGINT) ELSE 0 END"
    " WHERE id = :t"
)
SQL_COUNT_TRASH = (
    "UPDATE tenants SET trash_bytes = trash_bytes + :sign * (SELECT COALESCE(SUM(size), 0)"
    " FROM file_versions WHERE file_id = :f AND owns_body = 1) WHERE id = :t"
)

T_COLUMNS = "file_id, tenant_id, name, size, version, created_us, deleted_us, expires_us"
SQL_T_ADD = (
    f"INSERT INTO trash ({T_COLUMNS}) VALUES"
    " (:id, :t, :name, :size, :version, :created_us, :now, :expires)"
)
SQL_T_GET = (
    f"SELECT {T_COLUMNS} FROM trash WHERE file_id = :id AND tenant_id = :t AND expires_us > :now"
)
_T_GONE = " RETURNING file_id, tenant_id, name, version"  # for the feed's `purged`
SQL_T_TAKE = (
    "DELETE FROM trash WHERE file_id = :id AND tenant_id = :t AND expires_us > :now" + _T_GONE
)
SQL_T_PAGE = f"SELECT {T_COLUMNS} FROM trash WHERE tenant_id = :t AND expires_us > :now"
SQL_T_AFTER = " AND (deleted_us < :d OR (deleted_us = :d AND file_id < :i))"
SQL_T_ORDER = " ORDER BY deleted_us DESC, file_id DESC LIMIT :limit"
SQL_T_EXPIRED = (
    "SELECT file_id FROM trash WHERE expires_us <= :now ORDER BY expires_us LIMIT :limit"
)
SQL_T_FORGET = "DELETE FROM trash WHERE file_id = :id AND expires_us <= :now" + _T_GONE


class Version(NamedTuple):
    """One kept version of a file (a row of `file_versions`)."""

    file_id: str
    version: int
    tenant_id: str
    name: str
    size: int
    sha256: str
    blob_key: str
    owns_body: int
    created_us: int
    superseded_us: int | None
    expires_us: int

    @property
    def etag(self) -> str:
        return f'"{self.sha256}"'

    def public(self) -> dict[str, Any]:
        superseded = self.superseded_us
        return {
            "file_id": self.file_id,
            "version": self.version,
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "etag": self.etag,
            "created_at": clock.iso(self.created_us),
            "superseded_at": None if superseded is None else clock.iso(superseded),
            "expires_at": clock.iso(self.expires_us),
        }

    @classmethod
    def of(cls, row: Row) -> Version:
        return cls(**{k: row[k] for k in cls._fields})


def _db() -> Database:
    from chalicelib.db import database

    return database()


# --- reading versions ---------------------------------------------------------------------


def version(tenant_id: str, file_id: str, number: int, now: int) -> Version | None:
    """Version `number` of the tenant's live file, unless it has expired."""
    rows = _db().query(SQL_V_GET, id=file_id, t=tenant_id, now=now, v=number)
    return Version.of(rows[0]) if rows else None


def pair(tenant_id: str, file_id: str, a: int, b: int | None, now: int) -> list[Version]:
    """Versions `a` and `b` (None: the current one) of the tenant's live file, in one read."""
    rows = _db().query(
        SQL_V_PAIR, id=file_id, t=tenant_id, now=now, a=a, b=b or 0, cur=int(b is None)
    )
    return [Version.of(row) for row in rows]


def page(tenant_id: str, file_id: str, before: int, limit: int, now: int) -> list[Version] | None:
    """Up to `limit` versions below `before`, newest first; None: no such live file."""
    rows = _db().query(SQL_V_PAGE, id=file_id, t=tenant_id, now=now, before=before, limit=limit)
    if not rows:
        return None
    return [Version.of(row) for row in rows if row["version"] is not None]


def version_of(file_id: str, number: int) -> Version | None:
    """Any file's version `number`, live or trashed (the caller checked the tenant)."""
    rows = _db().query(SQL_V_OF, id=file_id, v=number)
    return Version.of(rows[0]) if rows else None


# --- writing versions ---------------------------------------------------------------------


def _count(tenant_id: str, file_id: str, size: int) -> None:
    """Add `size` to the bytes the tenant's versions own (and to its trash's, if trashed)."""
    if size:
        _db().execute(SQL_COUNT_VERSIONS, t=tenant_id, f=file_id, b=size)


def _count_trash(tenant_id: str, file_id: str, sign: int) -> None:
    """The file's owned bytes enter (1) or leave (-1) the tenant's trash."""
    _db().execute(SQL_COUNT_TRASH, t=tenant_id, f=file_id, sign=sign)


def add(meta: FileMeta, owns_body: bool) -> None:
    """The row of the file's new current version, written at `meta.updated_us`."""
    fields = meta.fields()
    _db().execute(
        SQL_V_ADD,
        file_id=meta.id,
        version=meta.version,
        tenant_id=meta.tenant_id,
        name=meta.name,
        size=meta.size,
        sha256=meta.sha256,
        blob_key=meta.blob_key,
        owns_body=int(owns_body),
        created_us=fields["updated_us"],
        expires_us=meta.expires_us,
    )
    if owns_body:
        _count(meta.tenant_id, meta.id, meta.size)


def supersede(file_id: str, number: int, now: int, expires: int) -> None:
    _db().execute(SQL_V_SUPERSEDE, id=file_id, v=number, now=now, expires=expires)


def drop_upto(file_id: str, number: int) -> list[str]:
    """Delete the file's versions up to `number`: the bodies they owned."""
    db = _db()
    keys = [str(r["blob_key"]) for r in db.query(SQL_V_OWNED_UPTO, id=file_id, v=number)]
    rows = db.query(SQL_V_DELETE_UPTO, id=file_id, v=number)
    if rows:
        owned = sum(int(r["size"]) for r in rows if r["owns_body"])
        _count(str(rows[0]["tenant_id"]), file_id, -owned)
    return keys


def adopt(file_id: str, key: str) -> bool:
    """A body whose owner went: the oldest version still sharing it owns it now; whether any."""
    rows = _db().query(SQL_V_ADOPT, id=file_id, k=key)
    for row in rows:
        _count(str(row["tenant_id"]), file_id, int(row["size"]))
    return bool(rows)


def expired(now: int, limit: int) -> list[Row]:
    return _db().query(SQL_V_EXPIRED, now=now, limit=limit)


def forget(file_id: str, number: int, now: int) -> bool:
    """Delete an expired version's row; whether it was still there."""
    rows = _db().query(SQL_V_FORGET, id=file_id, v=number, now=now)
    for row in rows:
        if row["owns_body"]:
            _count(str(row["tenant_id"]), file_id, -int(row["size"]))
    return bool(rows)


# --- the trash --------------------------------------------------------------------------------


def trash_add(meta: FileMeta, now: int, expires: int) -> None:
    _db().execute(
        SQL_T_ADD,
        id=meta.id,
        t=meta.tenant_id,
        name=meta.name,
        size=meta.size,
        version=meta.version,
        created_us=meta.created_us,
        now=now,
        expires=expires,
    )
    _count_trash(meta.tenant_id, meta.id, 1)


def trashed(tenant_id: str, file_id: str, now: int) -> Row | None:
    rows = _db().query(SQL_T_GET, id=file_id, t=tenant_id, now=now)
    return rows[0] if rows else None


def take(tenant_id: str, file_id: str, now: int) -> Row | None:
    """Remove the tenant's unexpired trash entry; the entry, if this call removed it."""
    rows = _db().query(SQL_T_TAKE, id=file_id, t=tenant_id, now=now)
    if rows:
        _count_trash(tenant_id, file_id, -1)
    return rows[0] if rows else None


def trash_page(tenant_id: str, now: int, limit: int, after: tuple[int, str] | None) -> list[Row]:
    sql, params = SQL_T_PAGE, {"t": tenant_id, "now": now, "limit": limit}
    if after is not None:
        sql += SQL_T_AFTER
        params["d"], params["i"] = after
    return _db().query(sql + SQL_T_ORDER, **params)


def trash_expired(now: int, limit: int) -> list[str]:
    return [str(r["file_id"]) for r in _db().query(SQL_T_EXPIRED, now=now, limit=limit)]


def trash_forget(file_id: str, now: int) -> Row | None:
    rows = _db().query(SQL_T_FORGET, id=file_id, now=now)
    for row in rows:
        _count_trash(str(row["tenant_id"]), file_id, -1)
    return rows[0] if rows else None
