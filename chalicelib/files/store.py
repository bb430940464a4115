"""The file repository: the `files` table and its full-text index, in SQL written once.

Both drivers run the same statements; only full-text search differs, and each driver
provides its own (`Database.full_text`). The use cases (chalicelib/files/writes.py) hold the
transactions: every method here runs inside the caller's, if there is one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, NamedTuple

from chalicelib.changes import feed
from chalicelib.db import OutcomeUnknown, database, in_list
from chalicelib.db.base import Database, Row
from chalicelib.files.rules import MAX_NAME, FileMeta

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
    "SELECT id, blob_key, version FROM files"
    " WHERE tenant_id = :t AND name = :name AND expires_us <= :now"
)
SQL_NAME_TAKEN = "SELECT id FROM files WHERE tenant_id = :t AND name = :name AND expires_us > :now"
SQL_DELETE = "DELETE FROM files WHERE id = :id AND tenant_id = :t RETURNING size"
# The tenant's stored files and bytes (migration 12): changed in the transaction that changes
# a row, after the row; the quota check and /usage read them (chalicelib/tenants/store.py).
SQL_COUNT = (
    "UPDATE tenants SET files_count = files_count + :n, files_bytes = files_bytes + :b"
    " WHERE id = :t"
)
SQL_SEARCH_DELETE = "DELETE FROM file_search WHERE file_id = :id"
SQL_LIST = f"SELECT {COLUMNS} FROM files WHERE tenant_id = :t AND expires_us > :now"
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
    """How a dialect indexes a file's words and finds files by them, and compares names
    byte-wise: the only SQL here the dialects cannot share."""

    insert: str  # stores `:doc` as the words of file `:id` of tenant `:t`
    match: str  # the ids of tenant `:t`'s files whose words match `:q`
    query: Callable[[str, list[str]], str]  # the `:q` for a tenant and words that must all match
    # Names from `:prefix` (included) to `:prefix_end` (excluded), byte-wise (UTF-8 order is
    # code point order): a range on an index, rare prefix or common (migration 14).
    prefix: str


def tenant_token(tenant_id: str) -> str:
    """The tenant as one FTS5 token (hex: no tokenizer splits it, no tenant matches another)."""
    return "t" + tenant_id.encode().hex()


def _fts5_query(tenant_id: str, terms: list[str]) -> str:
    """The tenant's files whose every term matches, each quoted so FTS5 reads no operator."""
    words = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
    return f"tenant : {tenant_token(tenant_id)} AND doc : ({words})"


FULL_TEXT = {
    # The words are the tenant's own lexemes (`t<hex>_word`, chalicelib/db/online.py) in the
    # GIN index: a rare word is a few entries of this tenant's, whatever other tenants store;
    # a common one is a walk of the tenant's newest files (the planner picks, by the tenant's
    # own statistics of that word).
    "postgresql": FullText(
        insert="INSERT INTO file_search (file_id, tenant_id, doc) VALUES (:id, :t,"
        " textfiles_tenant_words(CAST(:token AS TEXT) || '_', to_tsvector('simple', :doc)))",
        match="SELECT file_id FROM file_search"
        " WHERE doc @@ textfiles_tenant_query(CAST(:token AS TEXT) || '_', :q)",
        query=lambda _tenant, terms: " ".join(terms),
        prefix=' AND name COLLATE "C" >= :prefix AND name COLLATE "C" < :prefix_end',
    ),
    "sqlite": FullText(
        insert="INSERT INTO file_search (file_id, tenant, doc) VALUES (:id, :token, :doc)",
        match="SELECT file_id FROM file_search WHERE file_search MATCH :q",
        query=_fts5_query,
        prefix=" AND name >= :prefix AND name < :prefix_end",  # BINARY: byte-wise already
    ),
}


# How many of the newest files a search checks one by one before it asks the index instead.
SEARCH_WALK = 500


def two_plans(listed: str, match: str) -> str:
    """A search on PostgreSQL as two plans in one statement, chosen as it runs: the newest
    SEARCH_WALK files checked one by one (a common word: its newest matches are there),
    else the word's posting list in the index (a rare word: a few entries). The planner's
    estimate for a word its statistics do not list is a fixed guess, too coarse to choose
    between these (bench-scale: a rare word walked a million files)."""
    walk = (
        f"SELECT {COLUMNS} FROM ({listed} ORDER BY created_us DESC, id DESC LIMIT :scan)"
        " AS newest WHERE (SELECT s.doc FROM file_search s WHERE s.file_id = newest.id)"
        " @@ textfiles_tenant_query(CAST(:token AS TEXT) || '_', :q) LIMIT :limit"
    )
    return (
        f"WITH walked AS MATERIALIZED ({walk}), hits AS MATERIALIZED ({match})"
        f" SELECT {COLUMNS} FROM walked WHERE (SELECT COUNT(*) FROM walked) >= :limit"
        f" UNION ALL {listed} AND (SELECT COUNT(*) FROM walked) < :limit"
        " AND id IN (SELECT file_id FROM hits)"
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

    def rename(self, tenant_id: str, file_id: str, name: str, now: int) -> FileMeta | None:
        """The renamed file (None: no such live file); IntegrityError if the name is taken."""
        if not self.db.execute(SQL_RENAME, name=name, now=now, id=file_id, t=tenant_id):
            return None
        return self.get(tenant_id, file_id, now)

    def remove(self, tenant_id: str, file_id: str) -> None:
        """The row and its words (SQLite's full-text table has no cascade)."""
        self.db.execute(SQL_SEARCH_DELETE, id=file_id)
        for row in self.db.query(SQL_DELETE, id=file_id, t=tenant_id):
            self.count(tenant_id, -1, -int(row["size"]))

    def free_name(self, tenant_id: str, name: str, now: int) -> list[str]:
        """Remove the expired file that still holds `name`, if any: the bodies it pointed at."""
        rows = self.db.query(SQL_EXPIRED_NAMED, t=tenant_id, name=name, now=now)
        for row in rows:
            self.remove(tenant_id, row["id"])
            feed.purged(tenant_id, str(row["id"]), name, int(row["version"]))
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
                sql = two_plans(sql, self.full_text.match)
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
