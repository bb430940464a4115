"""The tenants' tables: tenants, their API keys, and what they store and run against their
quotas, in SQL written once for both drivers. Each function runs inside the caller's
transaction, if there is one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from chalicelib.db import Database

SQL_ADD_TENANT = (
    "INSERT INTO tenants (id, created_us) VALUES (:t, :now) ON CONFLICT (id) DO NOTHING"
)
SQL_ADD_KEY = (
    "INSERT INTO api_keys (key_hash, tenant_id, label, created_us) VALUES (:h, :t, :label, :now)"
)
SQL_REVOKE = "UPDATE api_keys SET revoked_us = :now WHERE key_hash = :h AND revoked_us IS NULL"
SQL_LOOKUP = (
    "SELECT k.tenant_id, t.rate_limit, t.max_files, t.max_bytes, t.max_running_tasks"
    " FROM api_keys k JOIN tenants t ON t.id = k.tenant_id"
    " WHERE k.key_hash = :h AND k.revoked_us IS NULL"
)
SQL_KEY_HASHES = "SELECT key_hash FROM api_keys WHERE tenant_id = :t"
SQL_LOCK = "UPDATE tenants SET id = id WHERE id = :t"
# The tenant's stored files and bytes: counters kept by every write (chalicelib/files/store.py)
# and reconciled by the daily purge. A file counts until the purge deletes it.
SQL_LOCK_STORED = (
    "UPDATE tenants SET id = id WHERE id = :t"
    " RETURNING files_count AS files, versions_bytes AS bytes, files_bytes AS current_bytes,"
    " trash_bytes"
)
SQL_STORED = (
    "SELECT files_count AS files, versions_bytes AS bytes, files_bytes AS current_bytes,"
    " trash_bytes FROM tenants WHERE id = :t"
)
SQL_TENANTS_AFTER = "SELECT id FROM tenants WHERE id > :after ORDER BY id LIMIT :limit"
# Files: every row of `files`. Bytes: every body a kept version owns (current, history and the
# trash); current: the files' bodies; trash: the trashed files' versions' (docs/history.md).
SQL_RECOUNT = (
    "SELECT (SELECT COUNT(*) FROM files WHERE tenant_id = :t) AS files,"
    " (SELECT COALESCE(SUM(size), 0) FROM file_versions WHERE tenant_id = :t AND owns_body = 1)"
    " AS bytes, (SELECT COALESCE(SUM(size), 0) FROM files WHERE tenant_id = :t) AS current_bytes,"
    " (SELECT COALESCE(SUM(v.size), 0) FROM file_versions v JOIN trash r ON r.file_id = v.file_id"
    " WHERE r.tenant_id = :t AND v.owns_body = 1) AS trash_bytes"
)
SQL_SET_STORED = (
    "UPDATE tenants SET files_count = :files, versions_bytes = :bytes,"
    " files_bytes = :current_bytes, trash_bytes = :trash_bytes WHERE id = :t"
)
# An upload's declared size is reserved while its staging object may exist: from its start
# until the collector has deleted the object after the link's last use (its `garbage` record,
# written with the upload, goes with the object), completed or not: the link stays valid
# after completion, and a PUT to it stores the object again. Bounded by the tenant's uploads
# (index uploads_tenant), not by its files.
SQL_PENDING = (
    "SELECT COALESCE(SUM(u.size), 0) AS bytes FROM uploads u"
    " WHERE u.tenant_id = :t AND EXISTS (SELECT 1 FROM garbage g WHERE g.blob_key = u.blob_key)"
)
SQL_RESERVED = (
    "SELECT COALESCE(SUM(u.size), 0) AS bytes FROM uploads u"
    " WHERE u.tenant_id = :t AND u.blob_key = :k"
    " AND EXISTS (SELECT 1 FROM garbage g WHERE g.blob_key = u.blob_key)"
)
SQL_RUNNING_TASKS = (
    "SELECT COUNT(*) AS n FROM tasks WHERE tenant_id = :t AND state IN ('queued', 'running')"
)
SQL_LIVE_EXPORTS = (
    "SELECT COUNT(*) AS n FROM tasks WHERE tenant_id = :t AND kind = 'export'"
    " AND (state IN ('queued', 'running') OR (state = 'succeeded' AND updated_us > :since))"
)


def _db() -> Database:
    from chalicelib.db import database  # on use: a cached key check needs no database

    return database()


def add_key(tenant_id: str, key_hash: str, label: str, now: int) -> None:
    """The key, and its tenant if new."""
    db = _db()
    with db.transaction():
        db.execute(SQL_ADD_TENANT, t=tenant_id, now=now)
        db.execute(SQL_ADD_KEY, h=key_hash, t=tenant_id, label=label, now=now)


def revoke_key(key_hash: str, now: int) -> bool:
    """Whether an active key was revoked."""
    return _db().execute(SQL_REVOKE, now=now, h=key_hash) > 0


def active_key(key_hash: str) -> dict[str, Any] | None:
    """The tenant and its overrides of an active key."""
    rows = _db().query(SQL_LOOKUP, h=key_hash)
    return dict(rows[0]) if rows else None


def set_overrides(tenant_id: str, overrides: dict[str, int | None]) -> list[str]:
    """Change the tenant's overrides (names from limits.OVERRIDES, never from input); the
    hashes of its keys, whose cached lookups are now stale."""
    db = _db()
    with db.transaction():
        for name, value in overrides.items():
            db.execute(f"UPDATE tenants SET {name} = :v WHERE id = :t", v=value, t=tenant_id)
        return [str(row["key_hash"]) for row in db.query(SQL_KEY_HASHES, t=tenant_id)]


def lock(tenant_id: str) -> None:
    """Serialise the tenant's writers until the transaction ends."""
    _db().execute(SQL_LOCK, t=tenant_id)


class Stored(NamedTuple):
    """The tenant's counters: its files, the bytes its kept versions own, and of those the
    files' current bodies' and the trash's."""

    files: int
    bytes: int
    current_bytes: int
    trash_bytes: int


def _stored(rows: list[dict[str, Any]]) -> Stored:
    return Stored(*(int(rows[0][k]) for k in Stored._fields)) if rows else Stored(0, 0, 0, 0)


def stored(tenant_id: str) -> Stored:
    """The tenant's counters (one row read: O(1) in the tenant's size)."""
    return _stored(_db().query(SQL_STORED, t=tenant_id))


def lock_stored(tenant_id: str) -> tuple[int, int]:
    """Serialise the tenant's writers until the transaction ends; its files and bytes."""
    files, size, _current, _trash = _stored(_db().query(SQL_LOCK_STORED, t=tenant_id))
    return files, size


def tenants_after(after: str, limit: int) -> list[str]:
    """The next `limit` tenant ids after `after`."""
    return [str(row["id"]) for row in _db().query(SQL_TENANTS_AFTER, after=after, limit=limit)]


def reconcile(tenant_id: str, db: Database | None = None) -> tuple[Stored, Stored] | None:
    """Count the tenant's files and bytes again, its row locked (exact under concurrency: a
    writer changes its counters under the same lock); (counters, recount) if they differed."""
    db = db or _db()
    with db.transaction():
        kept = _stored(db.query(SQL_LOCK_STORED, t=tenant_id))
        actual = _stored(db.query(SQL_RECOUNT, t=tenant_id))
        if actual == kept:
            return None
        db.execute(SQL_SET_STORED, t=tenant_id, **actual._asdict())
    return kept, actual


def pending_bytes(tenant_id: str) -> int:
    """Bytes reserved by the tenant's uploads whose staging objects may exist."""
    return int(_db().query(SQL_PENDING, t=tenant_id)[0]["bytes"])


def reserved_bytes(tenant_id: str, staging_key: str) -> int:
    """Of those, the bytes the upload staged under `staging_key` still reserves (0: none)."""
    return int(_db().query(SQL_RESERVED, t=tenant_id, k=staging_key)[0]["bytes"])


def running_tasks(tenant_id: str) -> int:
    return int(_db().query(SQL_RUNNING_TASKS, t=tenant_id)[0]["n"])


def live_exports(tenant_id: str, since: int) -> int:
    """Exports under way, and those that succeeded after `since` (their archives are kept)."""
    return int(_db().query(SQL_LIVE_EXPORTS, t=tenant_id, since=since)[0]["n"])
