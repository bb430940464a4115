"""The schema as versioned migrations, applied in order, once, on first use."""

from __future__ import annotations

from chalicelib import clock
from chalicelib.db.base import Database
from chalicelib.db.feed import MIGRATIONS as FEED_MIGRATIONS
from chalicelib.db.history import MIGRATIONS as HISTORY_MIGRATIONS
from chalicelib.db.idempotency import MIGRATIONS as IDEMPOTENCY_MIGRATIONS
from chalicelib.db.online import MIGRATIONS as SCALE_MIGRATIONS
from chalicelib.db.online import ONLINE, Statements, for_dialect, run_online

# Each migration: statements shared by both dialects, or a dict per dialect; a statement may
# be a function of the database (a backfill in batches). Those in `online.ONLINE` run outside
# a transaction on PostgreSQL (chalicelib/db/online.py).
# The role the functions log in as: the schema's data, no DDL. Its login and password
# are set by `admin migrate` from the application secret (chalicelib/edge/admin.py).
APP_ROLE = "textfiles_app"

_EVERY: list[tuple[int, Statements]] = [
    (
        1,
        [
            """CREATE TABLE tenants (
                id VARCHAR(64) PRIMARY KEY,
                created_us BIGINT NOT NULL
            )""",
            """CREATE TABLE api_keys (
                key_hash CHAR(64) PRIMARY KEY,
                tenant_id VARCHAR(64) NOT NULL REFERENCES tenants (id),
                label VARCHAR(255) NOT NULL,
                created_us BIGINT NOT NULL,
                revoked_us BIGINT
            )""",
            """CREATE TABLE files (
                id VARCHAR(40) PRIMARY KEY,
                tenant_id VARCHAR(64) NOT NULL REFERENCES tenants (id),
                name VARCHAR(255) NOT NULL,
                size BIGINT NOT NULL,
                sha256 CHAR(64) NOT NULL,
                version INTEGER NOT NULL,
                blob_key VARCHAR(512) NOT NULL,
                created_us BIGINT NOT NULL,
                updated_us BIGINT NOT NULL,
                expires_us BIGINT NOT NULL,
                CONSTRAINT files_tenant_name UNIQUE (tenant_id, name)
            )""",
            "CREATE INDEX files_tenant_created ON files (tenant_id, created_us DESC, id DESC)",
            "CREATE INDEX files_expires ON files (expires_us)",
        ],
    ),
    (
        2,
        {
            "postgresql": [
                """CREATE TABLE file_search (
                    file_id VARCHAR(40) PRIMARY KEY REFERENCES files (id) ON DELETE CASCADE,
                    doc TSVECTOR NOT NULL
                )""",
                "CREATE INDEX file_search_doc ON file_search USING GIN (doc)",
            ],
            "sqlite": [
                """CREATE VIRTUAL TABLE file_search USING fts5(
                    file_id UNINDEXED, doc, tokenize = 'unicode61 remove_diacritics 0'
                )""",
            ],
        },
    ),
    (
        3,
        [
            """CREATE TABLE uploads (
                id VARCHAR(40) PRIMARY KEY,
                tenant_id VARCHAR(64) NOT NULL REFERENCES tenants (id),
                file_id VARCHAR(40) NOT NULL,
                name VARCHAR(255) NOT NULL,
                blob_key VARCHAR(512) NOT NULL,
                created_us BIGINT NOT NULL,
                expires_us BIGINT NOT NULL
            )""",
            "CREATE INDEX uploads_expires ON uploads (expires_us)",
        ],
    ),
    (
        4,
        [
            # Per-tenant overrides of the spend guards; NULL means the configured default.
            "ALTER TABLE tenants ADD COLUMN rate_limit INTEGER",
            "ALTER TABLE tenants ADD COLUMN max_files INTEGER",
            "ALTER TABLE tenants ADD COLUMN max_bytes BIGINT",
            "ALTER TABLE tenants ADD COLUMN max_running_tasks INTEGER",
        ],
    ),
    (
        5,
        [
            # Background tasks (chalicelib/tasks/): progress, checkpoint, lease, send mark.
            """CREATE TABLE tasks (
                id VARCHAR(40) PRIMARY KEY,
                tenant_id VARCHAR(64) REFERENCES tenants (id),
                kind VARCHAR(32) NOT NULL,
                state VARCHAR(16) NOT NULL,
                done BIGINT NOT NULL,
                total BIGINT,
                message VARCHAR(255) NOT NULL,
                checkpoint TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                last_error TEXT,
                result TEXT,
                generation INTEGER NOT NULL,
                lease_token VARCHAR(40),
                lease_until BIGINT,
                send_us BIGINT,
                created_us BIGINT NOT NULL,
                updated_us BIGINT NOT NULL
            )""",
            "CREATE INDEX tasks_tenant_state ON tasks (tenant_id, state)",
            "CREATE INDEX tasks_send ON tasks (send_us)",
            "CREATE INDEX tasks_updated ON tasks (updated_us)",
        ],
    ),
    (
        6,
        [
            # Cache writes that could not be delivered (chalicelib/files/filecache.py), replayed
            # into the cache before it is trusted again.
            """CREATE TABLE cache_dirty (
                file_id VARCHAR(40) NOT NULL,
                version BIGINT NOT NULL,
                created_us BIGINT NOT NULL,
                PRIMARY KEY (file_id, version)
            )""",
        ],
    ),
    (
        7,
        [
            # Bodies no row points at any more (chalicelib/files/orphans.py): written in the
            # transaction that stops pointing at one, deleted by the collector after
            # `due_us`, once no file row references the key.
            """CREATE TABLE garbage (
                blob_key VARCHAR(512) PRIMARY KEY,
                due_us BIGINT NOT NULL
            )""",
            "CREATE INDEX garbage_due ON garbage (due_us)",
            "CREATE INDEX files_blob_key ON files (blob_key)",
        ],
    ),
    (
        8,
        {
            # Least privilege: the application role reads and writes rows, never the schema.
            # Default privileges cover the tables later migrations create (as the owner).
            "postgresql": [
                "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
                f"""DO $$ BEGIN
                    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
                        IF NOT (SELECT rolcreaterole OR rolsuper FROM pg_roles
                                WHERE rolname = current_user) THEN
                            RAISE NOTICE 'no role {APP_ROLE}: % may not create roles',
                                current_user;
                            RETURN;
                        END IF;
                        CREATE ROLE {APP_ROLE};
                    END IF;
                    GRANT USAGE ON SCHEMA public TO {APP_ROLE};
                    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public
                        TO {APP_ROLE};
                    GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE};
                    ALTER DEFAULT PRIVILEGES IN SCHEMA public
                        GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE};
                    ALTER DEFAULT PRIVILEGES IN SCHEMA public
                        GRANT USAGE ON SEQUENCES TO {APP_ROLE};
                END $$""",
            ],
            "sqlite": [],
        },
    ),
    (
        9,
        [
            # Uploads: the declared size (reserved against the byte quota until completed).
            "ALTER TABLE uploads ADD COLUMN size BIGINT",
            "ALTER TABLE uploads ADD COLUMN completed_us BIGINT",
            "CREATE INDEX uploads_tenant ON uploads (tenant_id, expires_us)",
        ],
    ),
    (
        10,
        [
            # Integrity (issue 22): the cache check reads the oldest missed writes a batch
            # per request (chalicelib/files/filecache.py): by index, not by a scan.
            "CREATE INDEX cache_dirty_created ON cache_dirty (created_us)",
            # An upload's staging object is garbage from its start, due when its link can
            # no longer write it (expiry + one lifetime); its reservation lasts as long.
            "INSERT INTO garbage (blob_key, due_us)"
            " SELECT blob_key, 2 * expires_us - created_us FROM uploads WHERE 1 = 1"
            " ON CONFLICT (blob_key) DO NOTHING",
        ],
    ),
    *HISTORY_MIGRATIONS,  # 11: versions and the trash
    *SCALE_MIGRATIONS,
    *IDEMPOTENCY_MIGRATIONS,  # 15: idempotency keys
    *FEED_MIGRATIONS,  # 16: the change feed
]
# Each feature's module holds its own; applied in the order of their numbers.
MIGRATIONS = sorted(_EVERY, key=lambda migration: migration[0])

_LOCK = {
    # Concurrent cold starts serialise here; the lock ends with the transaction.
    "postgresql": "SELECT pg_advisory_xact_lock(7438201)",
    "sqlite": "",
}


def current_version(db: Database) -> int:
    rows = db.query("SELECT MAX(version) AS v FROM schema_migrations")
    return int(rows[0]["v"] or 0)


def _apply_locked(db: Database) -> tuple[int, Statements] | None:
    """Under the lock, in one transaction: the pending migrations up to the first online one;
    that one, if any (it runs after the transaction)."""
    with db.transaction():
        if _LOCK[db.dialect]:
            db.query(_LOCK[db.dialect])
        applied = current_version(db)
        for version, stmts in MIGRATIONS:
            if version <= applied:
                continue
            if version in ONLINE and db.dialect == "postgresql":
                return version, stmts
            for step in for_dialect(db, stmts):
                step(db) if callable(step) else db.execute(step)
            db.execute(
                "INSERT INTO schema_migrations (version, applied_us) VALUES (:v, :t)",
                v=version,
                t=clock.now_us(),
            )
    return None


def migrate(db: Database) -> int:
    """Apply the migrations this database lacks; return the schema version.

    An up-to-date database costs one statement per cold start; anything else (a new
    database, a pending migration, an error) takes the full, locked path. An online
    migration another process is running is not waited for.
    """
    latest = MIGRATIONS[-1][0]
    try:
        if current_version(db) >= latest:
            return latest
    except Exception:  # noqa: BLE001 - no schema_migrations table yet; a real fault recurs below
        pass
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, applied_us BIGINT NOT NULL)"
    )
    while (pending := _apply_locked(db)) is not None:
        version, stmts = pending
        if not run_online(db, version, for_dialect(db, stmts)):
            break
    return latest
