"""The memcached driver (pymemcache): one server.

A ring of several servers is refused (a configuration error): pymemcache's HashClient sends
a timed-out node's keys to another node, where writes succeed unrecorded, and the node comes
back later with entries older than acknowledged writes. The cache protocol
(chalicelib/files/filecache.py) is proved for one server; the deployment runs one node.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import chalicelib.cache.wire as wire  # a sibling: the package is loaded already
from chalicelib import config, tcp


def _server(spec: str) -> tuple[str, int]:
    """The one `host:port` of MEMCACHED_SERVERS; a list of several is an error."""
    items = [item.strip() for item in spec.split(",") if item.strip()]
    if len(items) != 1:
        raise config.MissingSetting(
            f"MEMCACHED_SERVERS names {len(items)} servers; textfiles uses one memcached server"
            " (a ring can serve entries older than acknowledged writes: docs/backends.md)"
        )
    host, _, port = items[0].rpartition(":")
    return host or items[0], int(port or 11211)


class MemcachedDriver:
    """pymemcache for every command, built on first use, except what a cached read sends:
    gets and counts (chalicelib/cache/wire.py), on sockets of our own."""

    def __init__(self, spec: str) -> None:
        self.timeout = config.get_float("MEMCACHED_TIMEOUT_SECONDS")
        self.server = _server(spec)
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
        from pymemcache.client.base import PooledClient

        return PooledClient(
            self.server,
            connect_timeout=self.timeout,
            timeout=self.timeout,
            no_delay=True,
            # No cap: a connection per request in flight. Lambda runs one at a time; a
            # threaded local server runs many, and a capped pool would refuse one of them
            # ("Too many objects"), which the port would take for a cache outage.
            max_pool_size=None,
        )

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
        return self._exchange(self.server, keys, None)[0]

    def set_many(self, items: dict[str, bytes], ttl: int) -> None:
        failed = self.client.set_many(items, expire=ttl, noreply=False)
        if failed:
            raise ConnectionError(f"{len(failed)} keys not stored")

    def add(self, key: str, value: bytes, ttl: int) -> bool:
        return bool(self.client.add(key, value, expire=ttl, noreply=False))

    def gets(self, key: str) -> tuple[bytes | None, bytes | None]:
        value, token = self.client.gets(key)
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
        value = self._exchange(self.server, [], key, delta)[1]
        if value is None:  # NOT_FOUND: create it, then count
            return self._create_and_count(key, delta, ttl)
        return _count(value)

    def _create_and_count(self, key: str, delta: int, ttl: int) -> int:
        self.client.add(key, b"0", expire=ttl, noreply=False)
        return _count(self.client.incr(key, delta, noreply=False))

    def get_many_incr(
        self, keys: list[str], counter: str, ttl: int
    ) -> tuple[dict[str, bytes], int, int]:
        found, count = self._exchange(self.server, keys, counter)
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
        self.client.version()


def _count(value: Any) -> int:
    if value is None:
        raise ConnectionError("the counter could not be incremented")
    return int(value)
