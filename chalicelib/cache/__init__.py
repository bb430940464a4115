"""The cache port. A cache failure is logged and bypassed, never an error for a client."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from chalicelib import clock, config, logs

T = TypeVar("T")


class CacheDriver(Protocol):
    """What a cache backend does; its errors are raised, the wrapper below absorbs them."""

    def get_many(self, keys: list[str]) -> dict[str, bytes]: ...

    def set_many(self, items: dict[str, bytes], ttl: int) -> None: ...

    def add(self, key: str, value: bytes, ttl: int) -> bool: ...

    def delete_many(self, keys: list[str]) -> None: ...

    def gets(self, key: str) -> tuple[bytes | None, Any]:
        """The value and its cas token; (None, None) when absent."""
        ...

    def cas(self, key: str, value: bytes, token: Any, ttl: int) -> bool | None:
        """Store only if unchanged since `gets`: True stored, False changed, None gone."""
        ...

    def incr(self, key: str, delta: int, ttl: int) -> int: ...

    def get_many_incr(
        self, keys: list[str], counter: str, ttl: int
    ) -> tuple[dict[str, bytes], int, int]:
        """get_many and incr(counter, 1) in as few round trips as the driver can: the
        values, the counter after the increment, and the round trips it took."""
        ...

    def ping(self) -> None: ...

    def discard_connections(self) -> None:
        """After a fault: no pooled connection is trusted again (a restarted server or a cut
        link leaves them all dead, each would fail once more and bypass the cache)."""
        ...


class Parsed(Generic[T]):
    """Cache entries parsed once per distinct entry, by its bytes: the same entry comes back on
    every request while it is unchanged, and a changed one is new bytes, parsed afresh.
    Emptied when it fills. Callers must not mutate what it returns."""

    def __init__(self, parse: Callable[[bytes], T], limit: int) -> None:
        self._parse, self._limit = parse, limit
        self._values: dict[bytes, T] = {}

    def __call__(self, raw: bytes) -> T:
        if raw in self._values:
            return self._values[raw]
        value = self._parse(raw)
        if len(self._values) >= self._limit:
            self._values.clear()
        self._values[raw] = value
        return value

    def clear(self) -> None:
        self._values.clear()


class Cache:
    """Counts hits, misses, round trips and errors; turns every failure into a miss.

    After a failure the cache is bypassed for CACHE_RETRY_SECONDS (2 s), so a dead or
    hanging server costs one short timeout now and then, not one per operation. A write
    that is skipped or fails says so (`set_forward` answers False): the caller records what
    it could not deliver. `trusted_until` is for the caller too (chalicelib/files/filecache.py):
    every failure clears it, so entries are not served again before a check says so.
    """

    def __init__(self, driver: CacheDriver, name: str) -> None:
        self.driver = driver
        self.name = name
        self.hits = 0
        self.misses = 0
        self.errors = 0
        self.round_trips = 0
        self._down_until = 0.0
        self.trusted_until = 0.0
        self.failed_at_us = 0  # wall clock of the last failure or missed write

    def bypassed(self) -> bool:
        return time.monotonic() < self._down_until

    def _call(self, op: str, action: Callable[[], T], default: T) -> T:
        if time.monotonic() < self._down_until:
            return default
        self.round_trips += 1
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - any cache fault is a miss
            self.driver.discard_connections()
            self.errors += 1
            self.trusted_until = 0.0
            self.failed_at_us = clock.now_us()
            self._down_until = time.monotonic() + config.get_float("CACHE_RETRY_SECONDS")
            logs.warning_throttled(
                f"cache-{op}", "cache unavailable, bypassed", op=op, error=type(exc).__name__
            )
            return default

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        nothing: dict[str, bytes] = {}
        found = self._call("get", lambda: self.driver.get_many(keys), nothing)
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def set_many(self, items: dict[str, bytes], ttl: int | None = None) -> None:
        if items:
            expire = ttl or config.cache_ttl_seconds()
            self._call("set", lambda: self.driver.set_many(items, expire), None)

    def add(self, key: str, value: bytes, ttl: int | None = None) -> bool:
        """Store only if absent, so a slow reader never overwrites a newer write; whether it
        was stored (False too when the cache could not be reached)."""
        expire = ttl or config.cache_ttl_seconds()
        return self._call("add", lambda: self.driver.add(key, value, expire), False)

    def set_forward(
        self, key: str, value: bytes, newer: Callable[[bytes], bool], ttl: int | None = None
    ) -> bool:
        """Store value unless the entry there is as new (`newer(entry)` is False): gets/cas,
        so two writers that finish out of order leave the newer one. False when the cache
        could not be reached or stayed contended: the value may not be there."""
        expire = ttl or config.cache_ttl_seconds()
        return self._call("cas", lambda: self._forward(key, value, newer, expire), False)

    def _forward(self, key: str, value: bytes, newer: Callable[[bytes], bool], ttl: int) -> bool:
        for attempt in range(4):
            self.round_trips += 1 if attempt else 0  # _call counted the first trip
            current, token = self.driver.gets(key)
            if current is not None and not newer(current):
                return True
            self.round_trips += 1
            if current is None:
                stored = self.driver.add(key, value, ttl)
            else:
                stored = bool(self.driver.cas(key, value, token, ttl))
            if stored:
                return True
        return False

    def delete_many(self, keys: list[str]) -> None:
        if keys:
            self._call("delete", lambda: self.driver.delete_many(keys), None)

    def incr(self, key: str, delta: int, ttl: int) -> int | None:
        """The counter after adding delta; None when the cache is down."""
        return self._call("incr", lambda: self.driver.incr(key, delta, ttl), None)

    def get_many_incr(
        self, keys: list[str], counter: str, ttl: int
    ) -> tuple[dict[str, bytes], int | None]:
        """get_many plus an atomic count, pipelined: one round trip on one memcached."""
        failed: tuple[dict[str, bytes], int | None, int] = ({}, None, 1)
        found, count, trips = self._call(
            "get", lambda: self.driver.get_many_incr(keys, counter, ttl), failed
        )
        self.round_trips += trips - 1
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found, count

    def health(self) -> dict[str, object]:
        """Asks the server even while bypassed (health reports what is true now), but leaves
        the bypass as it is: only the cache's own users decide to trust it again."""
        try:
            self.driver.ping()
            status = "ok"
        except Exception as exc:  # noqa: BLE001 - a failing cache is what we report
            status = "unavailable"
            logs.warning_throttled("cache-ping", "cache ping failed", error=type(exc).__name__)
        return {
            "status": status,
            "driver": self.name,
            "hits": self.hits,
            "misses": self.misses,
            "errors": self.errors,
        }


@functools.cache
def cache() -> Cache:
    servers = config.backend("MEMCACHED_SERVERS")
    if servers:
        from chalicelib.cache.memcached import MemcachedDriver

        return Cache(MemcachedDriver(servers), "memcached")
    from chalicelib.cache.memory import MemoryDriver

    return Cache(MemoryDriver(), "memory")
