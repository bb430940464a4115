"""The memcached driver (pymemcache): one server, or keys hashed across several."""

from __future__ import annotations

import socket
import threading
from typing import Any

import chalicelib.cache.wire as wire  # a sibling: the package is loaded already
from chalicelib import config, tcp


def _servers(spec: str) -> list[tuple[str, int]]:
    servers = []
    for item in spec.split(","):
        host, _, port = item.strip().rpartition(":")
        servers.append((host or item.strip(), int(port or 11211)))
    return servers


class MemcachedDriver:
    """pymemcache for every command, built on first use, except what a cached read sends to
    a single server: gets and counts (chalicelib/cache/wire.py), on sockets of our own."""

    def __init__(self, spec: str) -> None:
        self.timeout = config.get_float("MEMCACHED_TIMEOUT_SECONDS")
        self.servers = _servers(spec)
        self.single = self.servers[0] if len(self.servers) == 1 else None
        self._client: Any = None
        self._idle: list[socket.socket] = []  # the exchange's connections, one per request
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._pymemcache()
            return self._client

    def _pymemcache(self) -> Any:
        common: dict[str, Any] = {
            "connect_timeout": self.timeout,
            "timeout": self.timeout,
            "no_delay": True,
            # No cap: a connection per request in flight. Lambda runs one at a time; a
            # threaded local server runs many, and a capped pool would refuse one of them
            # ("Too many objects"), which the port would take for a cache outage.
            "max_pool_size": None,
        }
        if self.single is not None:
            # One server needs no key hashing (pure Python, a quarter of a cached GET).
            from pymemcache.client.base import PooledClient

            return PooledClient(self.single, **common)
        from pymemcache.client.hash import HashClient

        return HashClient(
            self.servers, retry_attempts=1, retry_timeout=1, dead_timeout=5,
            ignore_exc=False, use_pooling=True, **common,
        )  # fmt: skip

    def close(self) -> None:
        self.discard_connections()
        with self._lock:
            self._client = None

    def discard_connections(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            client = self._client
        for sock in idle:
            sock.close()
        if client is not None:
            client.close()  # its pools empty; the next command connects afresh

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        if self.single is not None:
            return self._exchange(self.single, keys, None)[0]
        found = self.client.get_many(keys)
        return {k: v for k, v in found.items() if v is not None}

    def set_many(self, items: dict[str, bytes], ttl: int) -> None:
        failed = self.client.set_many(items, expire=ttl, noreply=False)
        if failed:
            raise ConnectionError(f"{len(failed)} keys not stored")

    def add(self, key: str, value: bytes, ttl: int) -> bool:
        return bool(self.client.add(key, value, expire=ttl, noreply=False))

    def gets(self, key: str) -> tuple[bytes | None, bytes | None]:
        value, token = self.client.gets(key)
        if value is False:  # HashClient with every server dead
            raise ConnectionError("no memcached server answered")
        return value, token

    def cas(self, key: str, value: bytes, token: bytes, ttl: int) -> bool | None:
        """True: stored; False: changed since `gets`; None: gone."""
        result = self.client.cas(key, value, token, expire=ttl, noreply=False)
        return None if result is None else bool(result)

    def delete_many(self, keys: list[str]) -> None:
        self.client.delete_many(keys, noreply=False)

    def incr(self, key: str, delta: int, ttl: int) -> int:
        """Atomic across processes: add the key if new, then incr it on the server.

        A negative delta is a `decr` (memcached stops at zero); a missing key stays missing.
        """
        if delta < 0:
            left = self.client.decr(key, -delta, noreply=False)
            return int(left or 0)
        if self.single is not None:
            value: Any = self._exchange(self.single, [], key, delta)[1]
        else:
            value = self.client.incr(key, delta, noreply=False)
        if value is None:  # NOT_FOUND: create it, then count
            return self._create_and_count(key, delta, ttl)
        return _count(value)

    def _create_and_count(self, key: str, delta: int, ttl: int) -> int:
        self.client.add(key, b"0", expire=ttl, noreply=False)
        return _count(self.client.incr(key, delta, noreply=False))

    def get_many_incr(
        self, keys: list[str], counter: str, ttl: int
    ) -> tuple[dict[str, bytes], int, int]:
        if self.single is None:  # several servers: the keys may live on different ones
            return self.get_many(keys), self.incr(counter, 1, ttl), 2
        found, count = self._exchange(self.single, keys, counter)
        if count is None:  # the window's first request: create the counter
            return found, self._create_and_count(counter, 1, ttl), 3
        return found, count, 1

    def _exchange(
        self, server: tuple[str, int], keys: list[str], counter: str | None, delta: int = 1
    ) -> tuple[dict[str, bytes], int | None]:
        """The one server's gets and count in one round trip, on a socket of our own."""
        with self._lock:
            sock = self._idle.pop() if self._idle else None
        if sock is None:
            sock = tcp.connect(server, self.timeout)
        try:
            answer = wire.exchange(sock, keys, counter, delta)
        except BaseException:
            sock.close()  # a fault leaves the connection mid-answer: never reused
            raise
        with self._lock:
            self._idle.append(sock)
        return answer

    def ping(self) -> None:
        servers = getattr(self.client, "clients", None)
        for server in servers.values() if servers is not None else [self.client]:
            server.version()
        if servers is not None and not servers:
            raise ConnectionError("no memcached server configured")


def _count(value: Any) -> int:
    if value is None or value is False:  # False: HashClient with every server dead
        raise ConnectionError("the counter could not be incremented")
    return int(value)
