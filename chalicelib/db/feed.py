"""Migration 16: the change feed (chalicelib/changes/, docs/changes.md).

`tenants.change_seq` is the tenant's last change: a writer adds one under the tenant row's lock,
held until it commits, so a tenant's changes are numbered in commit order without a gap.
`changes` keeps each one RETENTION_DAYS (index changes_at: the purge's bounded batches).
"""

from __future__ import annotations

from chalicelib.db.online import Statements

MIGRATIONS: list[tuple[int, Statements]] = [
    (
        16,
        [
            # Instant on PostgreSQL 11+ (a constant default rewrites nothing).
            "ALTER TABLE tenants ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0",
            """CREATE TABLE changes (
                tenant_id VARCHAR(64) NOT NULL,
                seq BIGINT NOT NULL,
                type VARCHAR(16) NOT NULL,
                file_id VARCHAR(40) NOT NULL,
                name VARCHAR(255) NOT NULL,
                version INTEGER NOT NULL,
                sha256 CHAR(64),
                size BIGINT,
                at_us BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, seq)
            )""",
            "CREATE INDEX changes_at ON changes (at_us)",
        ],
    ),
]
