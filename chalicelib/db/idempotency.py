"""Migration 15: idempotency keys (chalicelib/idempotency/, docs/idempotency.md).

A key is stored as its SHA-256 per tenant, with the fingerprint of the request that claimed it
and, once that request answered, its answer (metadata JSON, never a file's body). A row lives
24 hours; `idempotency_keys_expires` serves the daily purge's bounded batches.
"""

from __future__ import annotations

from chalicelib.db.online import Statements

MIGRATIONS: list[tuple[int, Statements]] = [
    (
        15,
        [
            """CREATE TABLE idempotency_keys (
                tenant_id VARCHAR(64) NOT NULL,
                key_hash CHAR(64) NOT NULL,
                fingerprint CHAR(64) NOT NULL,
                token VARCHAR(40) NOT NULL,
                status INTEGER,
                response TEXT,
                locked_until BIGINT NOT NULL,
                created_us BIGINT NOT NULL,
                expires_us BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, key_hash)
            )""",
            "CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_us)",
        ],
    ),
]
