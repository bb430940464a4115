"""Migration 11: history (docs/history.md): every kept version of a file, and the trash."""

from __future__ import annotations

from chalicelib.db.online import Statements

MIGRATIONS: list[tuple[int, Statements]] = [
    (
        11,
        [
            # History (docs/history.md): every kept version of a file, the current one included.
            # `owns_body`: 1 when this version wrote its own object (a rename's shares one).
            """CREATE TABLE file_versions (
                file_id VARCHAR(40) NOT NULL,
                version INTEGER NOT NULL,
                tenant_id VARCHAR(64) NOT NULL,
                name VARCHAR(255) NOT NULL,
                size BIGINT NOT NULL,
                sha256 CHAR(64) NOT NULL,
                blob_key VARCHAR(512) NOT NULL,
                owns_body INTEGER NOT NULL,
                created_us BIGINT NOT NULL,
                superseded_us BIGINT,
                expires_us BIGINT NOT NULL,
                PRIMARY KEY (file_id, version)
            )""",
            "CREATE INDEX file_versions_expires ON file_versions (expires_us)",
            "CREATE INDEX file_versions_tenant ON file_versions (tenant_id)",
            "CREATE INDEX file_versions_blob_key ON file_versions (blob_key)",
            # Deleted files: out of `files` (their name is free), kept with their versions.
            """CREATE TABLE trash (
                file_id VARCHAR(40) PRIMARY KEY,
                tenant_id VARCHAR(64) NOT NULL,
                name VARCHAR(255) NOT NULL,
                size BIGINT NOT NULL,
                version INTEGER NOT NULL,
                created_us BIGINT NOT NULL,
                deleted_us BIGINT NOT NULL,
                expires_us BIGINT NOT NULL
            )""",
            "CREATE INDEX trash_tenant_deleted ON trash (tenant_id, deleted_us DESC, file_id DESC)",
            "CREATE INDEX trash_expires ON trash (expires_us)",
            # Existing files: their current version becomes the oldest one kept.
            """INSERT INTO file_versions (file_id, version, tenant_id, name, size, sha256,
                blob_key, owns_body, created_us, superseded_us, expires_us)
                SELECT id, version, tenant_id, name, size, sha256, blob_key, 1, updated_us,
                NULL, expires_us FROM files""",
        ],
    ),
]
