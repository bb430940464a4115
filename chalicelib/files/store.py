"""The file repository: the `files` table and its full-text index, in SQL written once.

Both drivers run the same statements; only full-text search differs, and each driver
provides its own (`Database.full_text`). The use cases (chalicelib/files/writes.py) hold the
transactions: every method here runs inside the caller's, if there is one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, NamedTuple

from chalicelib.db import OutcomeUnknown, database, in_list
from chalicelib.db.base import Database, Row
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


SQL_EXPORT_COUNT = (
    "SELECT COUNT(*) AS n FROM files"
    " WHERE tenant_id = :t AND created_us <= :as_of AND expires_us > :now"
)
SQL_EXPORT_BATCH = (
    "SELECT id, name, size, blob_key, updated_us FROM files WHERE tenant_id = :t"
    " AND created_us <= :as_of AND expires_us > :now AND id > :after ORDER BY id LIMIT :limit"
)
SQL_EXPIRED = (
    "SELECT id, blob_key FROM files WHERE expires_us <= :now ORDER BY expires_us, id LIMIT :limit"
)


class FullText(NamedTuple):
    """How a dialect indexes a file's words and finds files by them: the only SQL here the
    dialects cannot share."""

    insert: str  # stores `:doc` as the words of file `:id`
    match: str  # the ids of the files whose words match `:q`
    query: Callable[[list[str]], str]  # the `:q` for words that must all match


def _fts5_query(terms: list[str]) -> str:
    """Every term must match, each quoted so FTS5 reads no operator in it."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


FULL_TEXT = {
    "postgresql": FullText(
        insert="INSERT INTO file_search (file_id, doc) VALUES (:id, to_tsvector('simple', :doc))",
        match="SELECT file_id FROM file_search WHERE doc @@ plainto_tsquery('simple', :q)",
        query=" ".join,
    ),
    "sqlite": FullText(
        insert="INSERT INTO file_search (file_id, doc) VALUES (:id, :doc)",
        match="SELECT file_id FROM file_search WHERE file_search MATCH :q",
        query=_fts5_query,
    ),
}


def repository() -> FileRepository:
    """The file rows and their full-text index, on the configured database."""
    return FileRepository(database())


class FileRepository:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.full_text = FULL_TEXT[db.dialect]

    def transaction(self) -> AbstractContextManager[None]:
        return self.db.transaction()

    def settle(self, outcome: OutcomeUnknown) -> bool:
        """Whether the transaction whose COMMIT reply was lost committed (see the port)."""
        return self.db.settle(outcome)

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
        self.db.execute(self.full_text.insert, id=meta.id, doc=text)

    def switch_body(self, old: FileMeta, new: FileMeta, text: str) -> bool:
        """Give the row `new`'s body, if it still is at `old`'s version; whether it was."""
        changed = self.db.execute(SQL_REPLACE, **new.fields(), old_version=old.version)
        if changed:
            self.db.execute(SQL_SEARCH_DELETE, id=old.id)
            self.db.execute(self.full_text.insert, id=old.id, doc=text)
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
            sql += f" AND id IN ({self.full_text.match})"
            params["q"] = self.full_text.query(terms)
        rows = self.db.query(sql + SQL_LIST_ORDER, **params)
        return [FileMeta.of(row) for row in rows]

    # --- for the export and the purge tasks ----------------------------------------------

    def export_count(self, tenant_id: str, as_of: int, now: int) -> int:
        """The tenant's live files created by `as_of`: what an export started then holds."""
        rows = self.db.query(SQL_EXPORT_COUNT, t=tenant_id, as_of=as_of, now=now)
        return int(rows[0]["n"])

    def export_batch(
        self, tenant_id: str, as_of: int, now: int, after: str, limit: int
    ) -> list[Row]:
        """The next `limit` of those files by id, after the id `after`."""
        return self.db.query(
            SQL_EXPORT_BATCH, t=tenant_id, as_of=as_of, now=now, after=after, limit=limit
        )

    def expired(self, now: int, limit: int) -> list[Row]:
        """Up to `limit` expired files of every tenant (id, blob_key), oldest expiry first."""
        return self.db.query(SQL_EXPIRED, now=now, limit=limit)

    def remove_expired(self, file_ids: list[str], now: int) -> None:
        """Those files' rows and words, if they are still expired."""
        placeholders, params = in_list("i", file_ids)
        self.db.execute(f"DELETE FROM file_search WHERE file_id IN {placeholders}", **params)
        sql = f"DELETE FROM files WHERE expires_us <= :now AND id IN {placeholders}"
        self.db.execute(sql, now=now, **params)

    def needed_bodies(self, file_ids: list[str], keys: list[str]) -> set[str]:
        """Of the bodies `keys` (of the files `file_ids`), those a file row, a kept version or a
        pending upload points at, and those recorded as garbage (collected when due)."""
        files, params = in_list("f", file_ids)
        live = self.db.query(
            f"SELECT blob_key FROM files WHERE id IN {files}"
            f" UNION ALL SELECT blob_key FROM file_versions WHERE file_id IN {files}",
            **params,
        )
        pending = self.db.query(f"SELECT blob_key FROM uploads WHERE file_id IN {files}", **params)
        listed, key_params = in_list("k", keys)
        due = self.db.query(
            f"SELECT blob_key FROM garbage WHERE blob_key IN {listed}", **key_params
        )
        return {str(row["blob_key"]) for row in live + pending + due}
