"""The idempotency keys' table (chalicelib/idempotency/keys.py), in SQL written once for both
drivers. A key is stored as its SHA-256, beside the request's fingerprint and, once the first
attempt has answered, that answer (status, a few headers, a metadata JSON body)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.db import Database, Row

# One statement claims a key: a new one, one past its 24 h, or one whose first attempt ended
# without an answer and whose lease ran out (the same request only). rowcount 1: claimed.
SQL_CLAIM = (
    "INSERT INTO idempotency_keys (tenant_id, key_hash, fingerprint, token, status, response,"
    " locked_until, created_us, expires_us)"
    " VALUES (:t, :k, :fp, :token, NULL, NULL, :locked_until, :now, :expires)"
    " ON CONFLICT (tenant_id, key_hash) DO UPDATE SET fingerprint = excluded.fingerprint,"
    " token = excluded.token, status = NULL, response = NULL,"
    " locked_until = excluded.locked_until, created_us = excluded.created_us,"
    " expires_us = excluded.expires_us"
    " WHERE idempotency_keys.expires_us <= :now OR (idempotency_keys.status IS NULL"
    " AND idempotency_keys.locked_until <= :now"
    " AND idempotency_keys.fingerprint = excluded.fingerprint)"
)
SQL_GET = (
    "SELECT fingerprint, status, response, locked_until, expires_us FROM idempotency_keys"
    " WHERE tenant_id = :t AND key_hash = :k"
)
# The answer, kept by the attempt that holds the claim (a taken-over claim's first holder
# can no longer write over its successor's).
SQL_FINISH = (
    "UPDATE idempotency_keys SET status = :status, response = :response"
    " WHERE tenant_id = :t AND key_hash = :k AND token = :token AND status IS NULL"
)
SQL_RELEASE = (
    "DELETE FROM idempotency_keys"
    " WHERE tenant_id = :t AND key_hash = :k AND token = :token AND status IS NULL"
)
# A bounded batch, oldest first, found by the expiry index (the daily purge).
SQL_PURGE = (
    "DELETE FROM idempotency_keys WHERE (tenant_id, key_hash) IN (SELECT tenant_id, key_hash"
    " FROM idempotency_keys WHERE expires_us <= :now ORDER BY expires_us LIMIT :limit)"
)


def _db() -> Database:
    from chalicelib.db import database

    return database()


def claim(**fields: Any) -> bool:
    return _db().execute(SQL_CLAIM, **fields) == 1


def get(tenant_id: str, key_hash: str) -> Row | None:
    rows = _db().query(SQL_GET, t=tenant_id, k=key_hash)
    return rows[0] if rows else None


def finish(tenant_id: str, key_hash: str, token: str, status: int, response: str) -> bool:
    fields = {"t": tenant_id, "k": key_hash, "token": token}
    return _db().execute(SQL_FINISH, status=status, response=response, **fields) == 1


def release(tenant_id: str, key_hash: str, token: str) -> None:
    _db().execute(SQL_RELEASE, t=tenant_id, k=key_hash, token=token)


def remove_expired(now: int, limit: int) -> int:
    """Up to `limit` expired keys in one statement; how many went."""
    return _db().execute(SQL_PURGE, now=now, limit=limit)
