"""API keys: stored only as SHA-256 hashes, each belonging to one tenant."""

from __future__ import annotations

import hashlib
import json
import re
from typing import NamedTuple

from chalicelib import clock, config
from chalicelib.cache import cache
from chalicelib.errors import BadRequest
from chalicelib.tenants import limits, store

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
    store.add_key(tenant_id, hash_key(key), label[:255], clock.now_us())
    return key


def revoke_key(key: str) -> bool:
    key_hash = hash_key(key)
    revoked = store.revoke_key(key_hash, clock.now_us())
    # A revocation is final: the mark replaces the cached lookup, and a lookup still in
    # flight cannot `add` its older answer over it.
    cache().set_many({cache_key(key_hash): REVOKED})
    return revoked


def lookup(key_hash: str) -> Tenant | None:
    """The tenant of an active key, from the database."""
    row = store.active_key(key_hash)
    if row is None:
        return None
    return Tenant(row["tenant_id"], {name: row[name] for name in limits.OVERRIDES})


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
    hashes = store.set_overrides(tenant_id, overrides)
    cache().delete_many([cache_key(key_hash) for key_hash in hashes])
