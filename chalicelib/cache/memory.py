"""The in-process cache: a bounded LRU dictionary with expiry times."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class MemoryDriver:
    def __init__(self, max_items: int = 10_000) -> None:
        self.max_items = max_items
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= now:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item[1]

    def _store(self, key: str, value: bytes, ttl: int) -> None:
        self._items[key] = (time.monotonic() + ttl, value)
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

    def delete_many(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._items.pop(key, None)

    def incr(self, key: str, delta: int, ttl: int) -> int:
        with self._lock:
            current = self._live(key, time.monotonic())
            value = int(current or b"0") + delta
            expiry = self._items[key][0] if current is not None else time.monotonic() + ttl
            self._items[key] = (expiry, str(value).encode())
            return value

    def get_many_incr(
        self, keys: list[str], counter: str, ttl: int
    ) -> tuple[dict[str, bytes], int, int]:
        return self.get_many(keys), self.incr(counter, 1, ttl), 1

    def ping(self) -> None:
        return None
