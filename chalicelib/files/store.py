"""The file repository: the `files` table and its full-text index, in SQL written once.

Both drivers run the same statements; only full-text search differs, and each driver
provides its own (`Database.full_text`). The use cases (chalicelib/files/writes.py) hold the
transactions: every method here runs inside the caller's, if there is one.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from chalicelib.db.base import Database
from chalicelib.files.rules import FileMeta

COLUMNS = "id, tenant_id, name, size, sha256, version, blob_key, created_us, updated_us, expires_us"
SQL_GET = f"SELECT {COLUMNS} FROM files WHERE id = :id AND tenant_id = :t AND expires_us > :now"
SQL_BLOB_KEY = "SELECT blob_key FROM files WHERE id = :id"
SQL_INSERT = (
    f"INSERT INTO files ({COLUMNS}) VALUES"
    " (:id, :tenant_id, :name, :size, :sha256, :version, :blob_key,"
    " :created_us, :updated_us, :expires_us)"
)
SQL_REPLACE = (
    "UPDATE files SET size = :size, sha256 = :sha256, version = :version,"
    " blob_key = :blob_key, updated_us = :updated_us, expires_us = :expires_us"
    " WHERE id = :id AND tenant_id = :tenant_id AND version = :old_version"
)
SQL_RENAME = (
    "UPDATE files SET name = :name, version = version + 1, updated_us = :now"
    " WHERE id = :id AND tenant_id = :t AND expires_us > :now"
)
SQL_EXPIRED_NAMED = (
    "SELECT id, blob_key FROM files WHERE tenant_id = :t AND name = :name AND expires_us <= :now"
)
SQL_NAME_TAKEN = "SELECT id FROM files WHERE tenant_id = :t AND name = :name AND expires_us > :now"
SQL_DELETE = "DELETE FROM files WHERE id = :id AND tenant_id = :t"
SQL_SEARCH_DELETE = "DELETE FROM file_search WHERE file_id = :id"
SQL_LIST = f"SELECT {COLUMNS} FROM files WHERE tenant_id = :t AND expires_us > :now"
SQL_LIST_PREFIX = " AND substr(name, 1, length(:prefix)) = :prefix"
SQL_LIST_AFTER = " AND (created_us < :c OR (created_us = :c AND id < :i))"
SQL_LIST_ORDER = " ORDER BY created_us DESC, id DESC LIMIT :limit"


class FileRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def transaction(self) -> AbstractContextManager[None]:
        return self.db.transaction()

    def get(self, tenant_id: str, file_id: str, now: int) -> FileMeta | None:
        """The tenant's file, unless it has expired."""
        rows = self.db.query(SQL_GET, id=file_id, t=tenant_id, now=now)
        return FileMeta.of(rows[0]) if rows else None

    def blob_key(self, file_id: str) -> str | None:
        """The body the file's row points at, expired or not; None: there is no row."""
        rows = self.db.query(SQL_BLOB_KEY, id=file_id)
        return str(rows[0]["blob_key"]) if rows else None

    def add(self, meta: FileMeta, text: str) -> None:
        """The row and its words; IntegrityError if the id, or the name in the tenant, is taken."""
        self.db.execute(SQL_INSERT, **meta.fields())
        self.db.execute(self.db.full_text.insert, id=meta.id, doc=text)

    def switch_body(self, old: FileMeta, new: FileMeta, text: str) -> bool:
        """Give the row `new`'s body, if it still is at `old`'s version; whether it was."""
        changed = self.db.execute(SQL_REPLACE, **new.fields(), old_version=old.version)
        if changed:
            self.db.execute(SQL_SEARCH_DELETE, id=old.id)
            self.db.execute(self.db.full_text.insert, id=old.id, doc=text)
        return bool(changed)

    def rename(self, tenant_id: str, file_id: str, name: str, now: int) -> FileMeta | None:
        """The renamed file (None: no such live file); IntegrityError if the name is taken."""
        if not self.db.execute(SQL_RENAME, name=name, now=now, id=file_id, t=tenant_id):
            return None
        return self.get(tenant_id, file_id, now)

    def remove(self, tenant_id: str, file_id: str) -> None:
        """The row and its words (SQLite's full-text table has no cascade)."""
        self.db.execute(SQL_SEARCH_DELETE, id=file_id)
        self.db.execute(SQL_DELETE, id=file_id, t=tenant_id)

    def free_name(self, tenant_id: str, name: str, now: int) -> list[str]:
        """Remove the expired file that still holds `name`, if any: the bodies it pointed at."""
        rows = self.db.query(SQL_EXPIRED_NAMED, t=tenant_id, name=name, now=now)
        for row in rows:
            self.remove(tenant_id, row["id"])
        return [str(row["blob_key"]) for row in rows]

    def name_taken(self, tenant_id: str, name: str, now: int) -> bool:
        """Whether a live file of the tenant holds `name`."""
        return bool(self.db.query(SQL_NAME_TAKEN, t=tenant_id, name=name, now=now))

    def page(
        self,
        tenant_id: str,
        now: int,
        limit: int,
        prefix: str | None = None,
        after: tuple[int, str] | None = None,
        terms: list[str] | None = None,
    ) -> list[FileMeta]:
        """Up to `limit` live files, newest first: those named `prefix...`, older than the
        (created_us, id) `after`, whose words hold every one of `terms`."""
        sql = SQL_LIST
        params: dict[str, Any] = {"t": tenant_id, "now": now, "limit": limit}
        if prefix:
            sql += SQL_LIST_PREFIX
            params["prefix"] = prefix
        if after is not None:
            sql += SQL_LIST_AFTER
            params["c"], params["i"] = after
        if terms is not None:
            sql += f" AND id IN ({self.db.full_text.match})"
            params["q"] = self.db.full_text.query(terms)
        rows = self.db.query(sql + SQL_LIST_ORDER, **params)
        return [FileMeta.of(row) for row in rows]
