"""The authentication gate: who is calling, whether they may, and what the cache held, all
from one cache round trip and one reading of the rate window.

The round trip fetches the key's cached lookup, the address's failed-key counter and the
entries the route asked to prefetch; for a key this process has seen before it also
increments that tenant's rate counter (pipelined: `get_many_incr`). tenants/apikeys.py keeps
the keys, tenants/limits.py the counters; this module is the one place a request passes both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from chalicelib import logs, racepoints
from chalicelib.cache import Parsed, cache
from chalicelib.errors import BackendUnavailable, Unauthorized
from chalicelib.tenants import apikeys, limits
from chalicelib.tenants.apikeys import CachedKey, Tenant
from chalicelib.tenants.limits import RateState, Window


class Caller(NamedTuple):
    """An admitted request: its tenant, the prefetched cache entries that were found, and
    where it stands in its rate window (the RateLimit-* headers of its response)."""

    tenant: Tenant
    hits: dict[str, bytes]
    rate: RateState


class _Trip(NamedTuple):
    """What the one round trip brought back."""

    entry: bytes | None  # the key's cached lookup, or auth.REVOKED
    failures: int  # failed keys from the address in this window
    hits: dict[str, bytes]  # the prefetched entries found
    counted: int | None  # the hinted tenant's rate counter after this request, if sent


# The tenant each key hash was last seen authenticating as, in this process. Only a hint:
# it names the rate counter to increment in the same round trip as the key's own lookup;
# authentication never trusts it.
_KNOWN_MAX = 10_000
_known: dict[str, str] = {}


_entries: Parsed[CachedKey | None] = Parsed(apikeys.cached, _KNOWN_MAX)


def reset_state() -> None:
    _known.clear()
    _entries.clear()


def _cached(entry: bytes | None) -> CachedKey | None:
    """apikeys.cached(entry), parsed once per distinct entry; each request gets its own copy
    of the overrides."""
    found = _entries(entry) if entry is not None else None
    if found is None:
        return None
    return found._replace(tenant=Tenant(found.tenant.id, dict(found.tenant.overrides)))


def admit(key: str | None, source: str, prefetch: Sequence[str] = ()) -> Caller:
    """The caller of a key, counted in its tenant's rate window; 401 for a missing or bad
    key, 429 past the rate limit or past the address's failed-key limit."""
    current = limits.window()
    source = source or "unknown"
    key_hash = apikeys.hash_key(key or "")
    hint = _known.get(key_hash) if key else None
    trip = _fetch(key_hash, source, current, prefetch, hint)
    tenant = _resolve(key, key_hash, trip, source, current)
    logs.bind(tenant=tenant.id)
    if len(_known) >= _KNOWN_MAX:
        _known.clear()
    _known[key_hash] = tenant.id
    counted = trip.counted if hint == tenant.id else None
    rate = limits.check_rate(tenant.id, tenant.overrides, current, counted)
    return Caller(tenant, trip.hits, rate)


def _fetch(
    key_hash: str, source: str, current: Window, prefetch: Sequence[str], hint: str | None
) -> _Trip:
    wanted = [apikeys.cache_key(key_hash), limits.auth_failure_key(source, current), *prefetch]
    counted: int | None = None
    if hint:
        counter = limits.rate_key(hint, current)
        hits, counted = cache().get_many_incr(wanted, counter, limits.counter_ttl(current))
    else:
        hits = cache().get_many(wanted)
    entry, failures = hits.pop(wanted[0], None), hits.pop(wanted[1], None)
    return _Trip(entry, int(failures or 0), hits, counted)


def _resolve(key: str | None, key_hash: str, trip: _Trip, source: str, current: Window) -> Tenant:
    """The key's tenant: from its fresh cache entry, else from the database.

    A key whose entry is stale but still there authenticated lately: it is looked up whatever
    its address did (NAT, shared egress). Any other lookup is a failed key until it succeeds:
    refused past the address's limit, counted before it runs (a parallel burst cannot try more
    keys than the limit), and refunded when the key is valid or the database did not answer
    (an outage is a 503, never a failed key).
    """
    known = _cached(trip.entry) if key else None
    if known is not None and known.fresh():
        return known.tenant
    if known is None:
        limits.check_auth_failures(trip.failures, current)
        limits.count_auth_failure(source, current)
    if not key:
        raise Unauthorized("An API key is required: 'Authorization: Bearer <key>'.")
    try:
        found = None if trip.entry == apikeys.REVOKED else apikeys.lookup(key_hash)
    except BackendUnavailable:
        if known is None:
            limits.refund_auth_failure(source, current)
        raise
    if found is None:
        _known.pop(key_hash, None)  # revoked: it no longer names anyone's counter
        if known is not None:
            apikeys.forget(key_hash)
        raise Unauthorized("The API key is not valid.")
    if known is None:
        limits.refund_auth_failure(source, current)
    racepoints.point("tenants.key_looked_up")
    apikeys.cache_lookup(key_hash, found, stale=None if known is None else trip.entry)
    return found
