"""API keys: stored only as SHA-256 hashes, each belonging to one tenant."""

from __future__ import annotations

import hashlib
import json
import re
from typing import NamedTuple

from chalicelib import clock, config
from chalicelib.cache import cache
from chalicelib.errors import BadRequest
from chalicelib.tenants import limits

KEY_PREFIX = "tf_"
REVOKED = b"revoked"
_TENANT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class Tenant(NamedTuple):
    id: str
    overrides: dict[str, int | None]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def cache_key(key_hash: str) -> str:
    return f"tf:k:{key_hash}"


def key_cache_seconds() -> int:
    """How long a key's lookup is cached: the bound on how long a revoked key still works in
    a process whose cache the revoking process cannot reach (the in-process cache)."""
    return max(1, config.get_int("KEY_CACHE_SECONDS"))


def validate_tenant(tenant_id: str) -> str:
    if not _TENANT.match(tenant_id):
        raise BadRequest("A tenant id is 1-64 characters of a-z, 0-9, '-' and '_'.")
    return tenant_id


def create_key(tenant_id: str, label: str = "") -> str:
    """A new key for the tenant (created if new); the key itself is returned once, never kept."""
    validate_tenant(tenant_id)
    import secrets  # here: a request that only checks a key does not load `random`

    key = KEY_PREFIX + secrets.token_urlsafe(32)
    from chalicelib.db import database

    db = database()
    now = clock.now_us()
    with db.transaction():
        db.execute(
            "INSERT INTO tenants (id, created_us) VALUES (:t, :now) ON CONFLICT (id) DO NOTHING",
            t=tenant_id,
            now=now,
        )
        db.execute(
            "INSERT INTO api_keys (key_hash, tenant_id, label, created_us)"
            " VALUES (:h, :t, :label, :now)",
            h=hash_key(key),
            t=tenant_id,
            label=label[:255],
            now=now,
        )
    return key


def revoke_key(key: str) -> bool:
    key_hash = hash_key(key)
    from chalicelib.db import database

    db = database()
    revoked = db.execute(
        "UPDATE api_keys SET revoked_us = :now WHERE key_hash = :h AND revoked_us IS NULL",
        now=clock.now_us(),
        h=key_hash,
    )
    # A revocation is final: the mark replaces the cached lookup, and a lookup still in
    # flight cannot `add` its older answer over it.
    cache().set_many({cache_key(key_hash): REVOKED})
    return revoked > 0


SQL_LOOKUP = (
    "SELECT k.tenant_id, t.rate_limit, t.max_files, t.max_bytes, t.max_running_tasks"
    " FROM api_keys k JOIN tenants t ON t.id = k.tenant_id"
    " WHERE k.key_hash = :h AND k.revoked_us IS NULL"
)


def lookup(key_hash: str) -> Tenant | None:
    """The tenant of an active key, from the database."""
    from chalicelib.db import database

    rows = database().query(SQL_LOOKUP, h=key_hash)
    if not rows:
        return None
    return Tenant(rows[0]["tenant_id"], {name: rows[0][name] for name in limits.OVERRIDES})


def cached(entry: bytes | None) -> Tenant | None:
    """The tenant a key's cache entry names; None for no entry or the revocation mark."""
    if entry is None or entry == REVOKED:
        return None
    data = json.loads(entry)
    return Tenant(data["tenant"], data["overrides"])


def cache_lookup(key_hash: str, tenant: Tenant) -> None:
    """Keep a lookup for KEY_CACHE_SECONDS. `add`, never `set`: a revocation written while
    the lookup was in flight stays."""
    entry = {"tenant": tenant.id, "overrides": tenant.overrides}
    cache().add(cache_key(key_hash), json.dumps(entry).encode(), key_cache_seconds())


def set_limits(tenant_id: str, **overrides: int | None) -> None:
    """Change a tenant's overrides (None: back to the default) and drop its cached keys."""
    unknown = set(overrides) - set(limits.OVERRIDES)
    if unknown:
        raise BadRequest(f"Unknown limits: {', '.join(sorted(unknown))}.")
    from chalicelib.db import database

    db = database()
    with db.transaction():
        for name, value in overrides.items():
            # The column name comes from the fixed OVERRIDES list, never from input.
            db.execute(f"UPDATE tenants SET {name} = :v WHERE id = :t", v=value, t=tenant_id)
        rows = db.query("SELECT key_hash FROM api_keys WHERE tenant_id = :t", t=tenant_id)
    cache().delete_many([cache_key(row["key_hash"]) for row in rows])
