"""Migrations 12-14 (the scale issue): the tenants' counters, the tenant in the search table
and in its index's words, a byte-wise name index for prefixes. On PostgreSQL 13 and 14 run
online: outside a transaction, indexes built CONCURRENTLY and rows backfilled in short
batches, so that writes of a big tenant wait a moment at most (docs/scale.md has their
timings on 1M files).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chalicelib import clock, logs
from chalicelib.db.base import Database

Step = str | Callable[[Database], None]
Statements = list[Step] | dict[str, list[Step]]

# Held by whoever runs an online migration (a session lock: no transaction spans it).
ONLINE_LOCK = 7438202
BATCH = 5000

SQL_TENANTS_AFTER = "SELECT id FROM tenants WHERE id > :after ORDER BY id LIMIT :limit"
SQL_LOCK_TENANT = "UPDATE tenants SET id = id WHERE id = :t"
SQL_RECOUNT = (
    "UPDATE tenants SET files_count = c.files, files_bytes = c.bytes,"
    " versions_bytes = (SELECT COALESCE(SUM(size), 0) FROM file_versions"
    " WHERE tenant_id = :t AND owns_body = 1),"
    " trash_bytes = (SELECT COALESCE(SUM(v.size), 0) FROM file_versions v"
    " JOIN trash r ON r.file_id = v.file_id WHERE r.tenant_id = :t AND v.owns_body = 1)"
    " FROM (SELECT COUNT(*) AS files, COALESCE(SUM(size), 0) AS bytes FROM files"
    " WHERE tenant_id = :t) AS c WHERE id = :t"
)
SQL_SEARCH_UPPER = (
    "SELECT MAX(file_id) AS upper FROM (SELECT file_id FROM file_search"
    " WHERE file_id > :after ORDER BY file_id LIMIT :limit) AS batch"
)
SQL_SEARCH_TENANTS = (
    "UPDATE file_search s SET tenant_id = f.tenant_id, doc = textfiles_tenant_words("
    "'t' || encode(convert_to(f.tenant_id, 'UTF8'), 'hex') || '_', s.doc)"
    " FROM files f WHERE f.id = s.file_id"
    " AND s.file_id > :after AND s.file_id <= :upper AND s.tenant_id IS NULL"
)
# A tenant's words in the search index are its own lexemes, `t<tenant hex>_<word>`: the GIN
# index then holds each tenant's posting list per word, so a rare word of a tenant is a few
# entries whatever its neighbours store, and the planner's estimate for it is the tenant's
# own (a common word: it walks the tenant's newest files instead). IMMUTABLE, so that the
# planner computes the query's lexemes before it plans (chalicelib/files/store.py). A lexeme
# is quoted for the tsquery parser: a quote doubled, a backslash escaped.
TENANT_WORDS = [
    r"""CREATE OR REPLACE FUNCTION textfiles_tenant_words(prefix TEXT, words TSVECTOR)
    RETURNS TSVECTOR LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT array_to_tsvector(ARRAY(SELECT prefix || lexeme FROM unnest(words)))
    $$""",
    r"""CREATE OR REPLACE FUNCTION textfiles_tenant_query(prefix TEXT, q TEXT)
    RETURNS TSQUERY LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT CAST(COALESCE(string_agg(
            '''' || replace(replace(prefix || lexeme, '\', '\\'), '''', '''''') || '''',
            ' & '), '') AS TSQUERY)
        FROM unnest(to_tsvector('simple', q))
    $$""",
]
SQL_INVALID_INDEX = (
    "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
    " WHERE c.relname = :name AND NOT i.indisvalid"
)


def for_dialect(db: Database, stmts: Statements) -> list[Step]:
    """A migration's statements for this database's dialect."""
    return stmts[db.dialect] if isinstance(stmts, dict) else stmts


def _timed(what: str, started: float) -> None:
    logs.info("online migration step", step=what, seconds=round(time.monotonic() - started, 2))


def backfill_counters(db: Database) -> None:
    """Each tenant's counters from its rows, one short transaction per tenant, its row locked:
    exact even while it writes (a writer changes the counters under the same lock)."""
    started, after = time.monotonic(), ""
    while tenants := [r["id"] for r in db.query(SQL_TENANTS_AFTER, after=after, limit=BATCH)]:
        for tenant_id in tenants:
            with db.transaction():
                db.execute(SQL_LOCK_TENANT, t=tenant_id)
                db.execute(SQL_RECOUNT, t=tenant_id)
        after = tenants[-1]
    _timed("backfill counters", started)


def backfill_search_tenants(db: Database) -> None:
    """The tenant of every indexed file, BATCH rows per statement (each its own transaction)."""
    started, after = time.monotonic(), ""
    while upper := db.query(SQL_SEARCH_UPPER, after=after, limit=BATCH)[0]["upper"]:
        db.execute(SQL_SEARCH_TENANTS, after=after, upper=upper)
        after = upper
    _timed("backfill search tenants", started)


def concurrently(name: str, ddl: str) -> Callable[[Database], None]:
    """CREATE INDEX CONCURRENTLY `name`: writes go on meanwhile. A build that failed leaves an
    invalid index behind; it is dropped first, so the step can run again."""

    def build(db: Database) -> None:
        started = time.monotonic()
        if db.query(SQL_INVALID_INDEX, name=name):
            db.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        db.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {ddl}")
        _timed(f"index {name}", started)

    return build


def run_online(db: Database, version: int, steps: list[Step]) -> bool:
    """Run one migration outside a transaction, if nobody else is (False: somebody is; the
    app works meanwhile, on the schema before it). Statements may take minutes: no timeout."""
    if not db.query("SELECT pg_try_advisory_lock(:k) AS ok", k=ONLINE_LOCK)[0]["ok"]:
        return False
    try:
        with db.unbounded():
            done = db.query("SELECT 1 FROM schema_migrations WHERE version = :v", v=version)
            for step in [] if done else steps:
                step(db) if callable(step) else db.execute(step)
            db.execute(
                "INSERT INTO schema_migrations (version, applied_us) VALUES (:v, :t)"
                " ON CONFLICT (version) DO NOTHING",
                v=version,
                t=clock.now_us(),
            )
    finally:
        db.query("SELECT pg_advisory_unlock(:k) AS ok", k=ONLINE_LOCK)
    return True


SQLITE_SEARCH = [
    # FTS5 tables take no new column: a new one, with the tenant as one token per row.
    """CREATE VIRTUAL TABLE file_search_new USING fts5(
        file_id UNINDEXED, tenant, doc, tokenize = 'unicode61 remove_diacritics 0'
    )""",
    "INSERT INTO file_search_new (file_id, tenant, doc) SELECT s.file_id,"
    " 't' || lower(hex(f.tenant_id)), s.doc FROM file_search s JOIN files f ON f.id = s.file_id",
    "DROP TABLE file_search",
    "ALTER TABLE file_search_new RENAME TO file_search",
]

MIGRATIONS: list[tuple[int, Statements]] = [
    (
        12,
        {
            # Instant on PostgreSQL 11+ (a constant default rewrites nothing).
            "postgresql": [
                "ALTER TABLE tenants ADD COLUMN files_count BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE tenants ADD COLUMN files_bytes BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE tenants ADD COLUMN versions_bytes BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE tenants ADD COLUMN trash_bytes BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE file_search ADD COLUMN tenant_id VARCHAR(64)",
                *TENANT_WORDS,
            ],
            "sqlite": [
                "ALTER TABLE tenants ADD COLUMN files_count BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE tenants ADD COLUMN files_bytes BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE tenants ADD COLUMN versions_bytes BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE tenants ADD COLUMN trash_bytes BIGINT NOT NULL DEFAULT 0",
                *SQLITE_SEARCH,
            ],
        },
    ),
    (
        13,
        {
            "postgresql": [backfill_counters, backfill_search_tenants],
            "sqlite": [
                "UPDATE tenants SET"
                " files_count = (SELECT COUNT(*) FROM files WHERE tenant_id = tenants.id),"
                " files_bytes = (SELECT COALESCE(SUM(size), 0) FROM files"
                " WHERE tenant_id = tenants.id),"
                " versions_bytes = (SELECT COALESCE(SUM(size), 0) FROM file_versions"
                " WHERE tenant_id = tenants.id AND owns_body = 1),"
                " trash_bytes = (SELECT COALESCE(SUM(v.size), 0) FROM file_versions v"
                " JOIN trash r ON r.file_id = v.file_id WHERE r.tenant_id = tenants.id"
                " AND v.owns_body = 1)",
            ],
        },
    ),
    (
        14,
        {
            "postgresql": [
                # A name range compared byte-wise (the column's collation may not be C).
                concurrently("files_tenant_name_c", 'files (tenant_id, name COLLATE "C")'),
            ],
            "sqlite": [],  # the unique (tenant_id, name) index compares byte-wise already
        },
    ),
    (
        17,
        {
            # No JIT compilation for this database's sessions (from their next connection):
            # every statement of ours is a few index lookups, and JIT compiles a plan whose
            # estimated cost passes jit_above_cost, which the branch a search does not take
            # does at a million files (37 ms of compiling for 0.5 ms of work, bench-scale).
            # A database default, not a SET: RDS Proxy pins sessions that SET.
            "postgresql": [
                "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET jit = off',"
                " current_database()); END $$"
            ],
            "sqlite": [],
        },
    ),
]
ONLINE = {13, 14}
