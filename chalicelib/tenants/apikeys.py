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


# How long a key's cache entry outlives its KEY_CACHE_SECONDS: while it is there, stale, it
# vouches that the key authenticated lately, so the key is looked up again even from an
# address blocked for failed keys (chalicelib/edge/gate.py). Never authentication by itself.
VOUCH_SECONDS = 86_400


class Tenant(NamedTuple):
    id: str
    overrides: dict[str, int | None]


class CachedKey(NamedTuple):
    """A key's cached lookup: its tenant, and until when (wall clock) it may be used without
    asking the database; None: an entry written before entries carried it (it expires with
    its TTL)."""

    tenant: Tenant
    until_us: int | None

    def fresh(self) -> bool:
        return self.until_us is None or clock.now_us() < self.until_us


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


def cached(entry: bytes | None) -> CachedKey | None:
    """The lookup a key's cache entry holds; None for no entry or the revocation mark."""
    if entry is None or entry == REVOKED:
        return None
    data = json.loads(entry)
    return CachedKey(Tenant(data["tenant"], data["overrides"]), data.get("until_us"))


def cache_lookup(key_hash: str, tenant: Tenant, stale: bytes | None = None) -> None:
    """Keep a lookup, used for KEY_CACHE_SECONDS and kept VOUCH_SECONDS. `add`, never `set`:
    a revocation written while the lookup was in flight stays; a `stale` entry found before
    the lookup is replaced by compare-and-swap, unless a revocation replaced it meanwhile."""
    until_us = clock.now_us() + key_cache_seconds() * 1_000_000
    entry = {"tenant": tenant.id, "overrides": tenant.overrides, "until_us": until_us}
    raw = json.dumps(entry).encode()
    if stale is None:
        cache().add(cache_key(key_hash), raw, VOUCH_SECONDS)
    else:
        cache().set_forward(cache_key(key_hash), raw, lambda now: now != REVOKED, VOUCH_SECONDS)


def forget(key_hash: str) -> None:
    """A key the database no longer knows (revoked where this cache was not reached): its
    entry vouches for it no more."""
    cache().set_many({cache_key(key_hash): REVOKED})


def set_limits(tenant_id: str, **overrides: int | None) -> None:
    """Change a tenant's overrides (None: back to the default) and drop its cached keys."""
    unknown = set(overrides) - set(limits.OVERRIDES)
    if unknown:
        raise BadRequest(f"Unknown limits: {', '.join(sorted(unknown))}.")
    hashes = store.set_overrides(tenant_id, overrides)
    cache().delete_many([cache_key(key_hash) for key_hash in hashes])
