"""The in-process cache: a bounded LRU dictionary with expiry times and cas tokens."""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict


class MemoryDriver:
    """Same semantics as memcached: `add` only if absent, `cas` only if unchanged since `gets`."""

    def __init__(self, max_items: int = 10_000) -> None:
        self.max_items = max_items
        self._items: OrderedDict[str, tuple[float, bytes, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._tokens = itertools.count(1)

    def _item(self, key: str, now: float) -> tuple[float, bytes, int] | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= now:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item

    def _live(self, key: str, now: float) -> bytes | None:
        item = self._item(key, now)
        return None if item is None else item[1]

    def _store(self, key: str, value: bytes, ttl: int, expiry: float | None = None) -> None:
        self._items[key] = (expiry or time.monotonic() + ttl, value, next(self._tokens))
        self._items.move_to_end(key)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        now = time.monotonic()
        with self._lock:
            found = {k: self._live(k, now) for k in keys}
        return {k: v for k, v in found.items() if v is not None}

    def set_many(self, items: dict[str, bytes], ttl: int) -> None:
        with self._lock:
            for key, value in items.items():
                self._store(key, value, ttl)

    def add(self, key: str, value: bytes, ttl: int) -> bool:
        with self._lock:
            if self._live(key, time.monotonic()) is not None:
                return False
            self._store(key, value, ttl)
            return True

    def gets(self, key: str) -> tuple[bytes | None, int | None]:
        with self._lock:
            item = self._item(key, time.monotonic())
        return (None, None) if item is None else (item[1], item[2])

    def cas(self, key: str, value: bytes, token: int, ttl: int) -> bool | None:
        """True: stored; False: changed since `gets`; None: gone."""
        with self._lock:
            item = self._item(key, time.monotonic())
            if item is None:
                return None
            if item[2] != token:
                return False
            self._store(key, value, ttl)
            return True

    def delete_many(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._items.pop(key, None)

    def incr(self, key: str, delta: int, ttl: int) -> int:
        """Like memcached: never below zero."""
        with self._lock:
            item = self._item(key, time.monotonic())
            if item is None and delta < 0:
                return 0
            value = max(0, int(item[1] if item else b"0") + delta)
            self._store(key, str(value).encode(), ttl, item[0] if item else None)
            return value

    def get_many_incr(
        self, keys: list[str], counter: str, ttl: int
    ) -> tuple[dict[str, bytes], int, int]:
        return self.get_many(keys), self.incr(counter, 1, ttl), 1

    def ping(self) -> None:
        return None

    def discard_connections(self) -> None:
        return None
