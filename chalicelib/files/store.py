"""The file repository: the `files` table and its full-text index, in SQL written once.

Both drivers run the same statements; only full-text search differs, and each driver
provides its own (`Database.full_text`). The use cases (chalicelib/files/writes.py) hold the
transactions: every method here runs inside the caller's, if there is one.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from chalicelib import racepoints
from chalicelib.changes import feed
from chalicelib.db import OutcomeUnknown, database, in_list
from chalicelib.db.base import Database, Row
from chalicelib.files.rules import MAX_NAME, FileMeta
from chalicelib.files.search import FULL_TEXT, SEARCH_WALK, tenant_token, two_plans

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
AT_VERSION = " AND version = :v"  # a write under a precondition: only the version it checked
SQL_EXPIRED_NAMED = (
    "SELECT id, blob_key, version FROM files"
    " WHERE tenant_id = :t AND name = :name AND expires_us <= :now"
)
SQL_DELETE = "DELETE FROM files WHERE id = :id AND tenant_id = :t RETURNING size"
SQL_DELETE_AT = SQL_DELETE.replace(" RETURNING", AT_VERSION + " RETURNING")
# The tenant's stored files and bytes (migration 12): changed in the transaction that changes
# a row, after the row; the quota check and /usage read them (chalicelib/tenants/store.py).
SQL_COUNT = (
    "UPDATE tenants SET files_count = files_count + :n, files_bytes = files_bytes + :b"
    " WHERE id = :t"
)
SQL_SEARCH_DELETE = "DELETE FROM file_search WHERE file_id = :id"
SQL_LIST = f"SELECT {COLUMNS} FROM files WHERE tenant_id = :t AND expires_us > :now"
SQL_NAMED = SQL_LIST + " AND name = :name"  # on the unique index (tenant_id, name)
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


def prefix_end(prefix: str) -> str:
    """A string after every name that starts with `prefix`, and before every other name after
    `prefix`: the next code point after its last (U+10FFFF is the last: a longer name wins)."""
    chars = list(prefix.rstrip(chr(0x10FFFF)))
    if not chars:
        return chr(0x10FFFF) * (MAX_NAME + 1)
    following = ord(chars[-1]) + 1
    chars[-1] = chr(0xE000 if 0xD800 <= following <= 0xDFFF else following)
    return "".join(chars)


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
        self._index(meta.tenant_id, meta.id, text)
        self.count(meta.tenant_id, 1, meta.size)

    def _index(self, tenant_id: str, file_id: str, text: str) -> None:
        token = tenant_token(tenant_id)
        self.db.execute(self.full_text.insert, id=file_id, t=tenant_id, token=token, doc=text)

    def count(self, tenant_id: str, files: int, size: int) -> None:
        """Add to the tenant's stored files and bytes (its row is locked till the end)."""
        if files or size:
            self.db.execute(SQL_COUNT, t=tenant_id, n=files, b=size)

    def switch_body(self, old: FileMeta, new: FileMeta, text: str) -> bool:
        """Give the row `new`'s body, if it still is at `old`'s version; whether it was."""
        changed = self.db.execute(SQL_REPLACE, **new.fields(), old_version=old.version)
        if changed:
            self.db.execute(SQL_SEARCH_DELETE, id=old.id)
            self._index(old.tenant_id, old.id, text)
            self.count(old.tenant_id, 0, new.size - old.size)
        return bool(changed)

    def rename(
        self, tenant_id: str, file_id: str, name: str, now: int, version: int | None = None
    ) -> FileMeta | None:
        """The renamed file (None: none live, or not at `version`); IntegrityError: name taken."""
        sql, at = (SQL_RENAME, {}) if version is None else (SQL_RENAME + AT_VERSION, {"v": version})
        if not self.db.execute(sql, name=name, now=now, id=file_id, t=tenant_id, **at):
            return None
        return self.get(tenant_id, file_id, now)

    def remove(self, tenant_id: str, file_id: str, version: int | None = None) -> bool:
        """Whether the row (if at `version`) and its words went (SQLite's FTS has no cascade)."""
        sql, at = (SQL_DELETE, {}) if version is None else (SQL_DELETE_AT, {"v": version})
        rows = self.db.query(sql, id=file_id, t=tenant_id, **at)
        racepoints.point("files.delete.removed")  # the file's row held, the tenant's not yet
        if rows:
            self.db.execute(SQL_SEARCH_DELETE, id=file_id)
            self.count(tenant_id, -1, -int(rows[0]["size"]))
        return bool(rows)

    def free_name(self, tenant_id: str, name: str, now: int) -> list[str]:
        """Remove the expired file that still holds `name`, if any: the bodies it pointed at."""
        rows = self.db.query(SQL_EXPIRED_NAMED, t=tenant_id, name=name, now=now)
        for row in rows:
            self.remove(tenant_id, row["id"])
            feed.purged(tenant_id, str(row["id"]), name, int(row["version"]))
        return [str(row["blob_key"]) for row in rows]

    def named(self, tenant_id: str, name: str, now: int) -> FileMeta | None:
        """The live file of the tenant that holds `name` (its unique index finds it)."""
        rows = self.db.query(SQL_NAMED, t=tenant_id, name=name, now=now)
        return FileMeta.of(rows[0]) if rows else None

    def name_taken(self, tenant_id: str, name: str, now: int) -> bool:
        return self.named(tenant_id, name, now) is not None

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
            sql += self.full_text.prefix
            params["prefix"], params["prefix_end"] = prefix, prefix_end(prefix)
        if after is not None:
            sql += SQL_LIST_AFTER
            params["c"], params["i"] = after
        if terms is not None:
            params["q"] = self.full_text.query(tenant_id, terms)
            params["token"] = tenant_token(tenant_id)
            if self.db.dialect == "postgresql":
                params["scan"] = SEARCH_WALK
                sql = two_plans(sql, self.full_text.match, COLUMNS)
            else:
                sql += f" AND id IN ({self.full_text.match})"
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
        params = {"t": tenant_id, "as_of": as_of, "now": now, "after": after, "limit": limit}
        return self.db.query(SQL_EXPORT_BATCH, **params)

    def expired(self, now: int, limit: int) -> list[Row]:
        """Up to `limit` expired files of every tenant (id, blob_key), oldest expiry first."""
        return self.db.query(SQL_EXPIRED, now=now, limit=limit)

    def remove_expired(self, file_ids: list[str], now: int) -> None:
        """Those files' rows and words, if they are still expired."""
        placeholders, params = in_list("i", file_ids)
        self.db.execute(f"DELETE FROM file_search WHERE file_id IN {placeholders}", **params)
        sql = (
            f"DELETE FROM files WHERE expires_us <= :now AND id IN {placeholders}"
            " RETURNING tenant_id, size, id, name, version"
        )
        freed: dict[str, list[Row]] = {}
        for row in self.db.query(sql, now=now, **params):
            freed.setdefault(str(row["tenant_id"]), []).append(row)
        for tenant_id, rows in sorted(freed.items()):  # one order of row locks for every purge
            self.count(tenant_id, -len(rows), -sum(int(row["size"]) for row in rows))
            for row in rows:  # gone for good: the feed's `purged`
                feed.purged(tenant_id, str(row["id"]), str(row["name"]), int(row["version"]))

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
