"""The cache port. A cache failure is logged and bypassed, never an error for a client."""

from __future__ import annotations

import functools
from typing import Protocol

from chalicelib import config, logs


class CacheDriver(Protocol):
    """What a cache backend does; its errors are raised, the wrapper below absorbs them."""

    def get_many(self, keys: list[str]) -> dict[str, bytes]: ...

    def set_many(self, items: dict[str, bytes], ttl: int) -> None: ...

    def add(self, key: str, value: bytes, ttl: int) -> bool: ...

    def delete_many(self, keys: list[str]) -> None: ...

    def incr(self, key: str, delta: int, ttl: int) -> int: ...

    def ping(self) -> None: ...


class Cache:
    """Counts hits, misses, round trips and errors; turns every failure into a miss."""

    def __init__(self, driver: CacheDriver, name: str) -> None:
        self.driver = driver
        self.name = name
        self.hits = 0
        self.misses = 0
        self.errors = 0
        self.round_trips = 0

    def _failed(self, op: str, exc: Exception) -> None:
        self.errors += 1
        logs.warning_throttled(
            f"cache-{op}", "cache unavailable, bypassed", op=op, error=type(exc).__name__
        )

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        self.round_trips += 1
        try:
            found = self.driver.get_many(keys)
        except Exception as exc:  # noqa: BLE001 - any cache fault is a miss
            self._failed("get", exc)
            found = {}
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def set_many(self, items: dict[str, bytes], ttl: int | None = None) -> None:
        if not items:
            return
        self.round_trips += 1
        try:
            self.driver.set_many(items, ttl or config.cache_ttl_seconds())
        except Exception as exc:  # noqa: BLE001
            self._failed("set", exc)

    def add(self, key: str, value: bytes, ttl: int | None = None) -> None:
        """Store only if absent, so a slow reader never overwrites a newer write."""
        self.round_trips += 1
        try:
            self.driver.add(key, value, ttl or config.cache_ttl_seconds())
        except Exception as exc:  # noqa: BLE001
            self._failed("add", exc)

    def delete_many(self, keys: list[str]) -> None:
        if not keys:
            return
        self.round_trips += 1
        try:
            self.driver.delete_many(keys)
        except Exception as exc:  # noqa: BLE001
            self._failed("delete", exc)

    def incr(self, key: str, delta: int, ttl: int) -> int | None:
        """The counter after adding delta; None when the cache is down."""
        self.round_trips += 1
        try:
            return self.driver.incr(key, delta, ttl)
        except Exception as exc:  # noqa: BLE001
            self._failed("incr", exc)
            return None

    def health(self) -> dict[str, object]:
        try:
            self.driver.ping()
            status = "ok"
        except Exception as exc:  # noqa: BLE001
            self._failed("ping", exc)
            status = "unavailable"
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
