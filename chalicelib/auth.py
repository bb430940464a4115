"""API keys: stored only as SHA-256 hashes, each belonging to one tenant."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass

from chalicelib import clock
from chalicelib.cache import cache
from chalicelib.db import database
from chalicelib.errors import BadRequest, Unauthorized

KEY_PREFIX = "tf_"
_TENANT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Tenant:
    id: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def cache_key(key_hash: str) -> str:
    return f"tf:k:{key_hash}"


def validate_tenant(tenant_id: str) -> str:
    if not _TENANT.match(tenant_id):
        raise BadRequest("A tenant id is 1-64 characters of a-z, 0-9, '-' and '_'.")
    return tenant_id


def create_key(tenant_id: str, label: str = "") -> str:
    """A new key for the tenant (created if new); the key itself is returned once, never kept."""
    validate_tenant(tenant_id)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
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
    db = database()
    revoked = db.execute(
        "UPDATE api_keys SET revoked_us = :now WHERE key_hash = :h AND revoked_us IS NULL",
        now=clock.now_us(),
        h=key_hash,
    )
    cache().delete_many([cache_key(key_hash)])
    return revoked > 0


def _lookup(key_hash: str) -> Tenant | None:
    rows = database().query(
        "SELECT tenant_id FROM api_keys WHERE key_hash = :h AND revoked_us IS NULL",
        h=key_hash,
    )
    return Tenant(rows[0]["tenant_id"]) if rows else None


def authenticate(
    key: str | None, prefetch: list[str] | None = None
) -> tuple[Tenant, dict[str, bytes]]:
    """The key's tenant, plus whatever else the caller wanted from the cache in the same trip."""
    if not key:
        raise Unauthorized("An API key is required: 'Authorization: Bearer <key>'.")
    key_hash = hash_key(key)
    wanted = [cache_key(key_hash), *(prefetch or [])]
    hits = cache().get_many(wanted)
    cached = hits.pop(wanted[0], None)
    if cached is not None:
        return Tenant(json.loads(cached)["tenant"]), hits
    tenant = _lookup(key_hash)
    if tenant is None:
        raise Unauthorized("The API key is not valid.")
    cache().add(wanted[0], json.dumps({"tenant": tenant.id}).encode())
    return tenant, hits
