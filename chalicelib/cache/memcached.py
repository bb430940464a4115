"""The memcached driver (pymemcache): keys hashed across servers, short timeouts."""

from __future__ import annotations

from pymemcache.client.hash import HashClient

from chalicelib import config


def _servers(spec: str) -> list[tuple[str, int]]:
    servers = []
    for item in spec.split(","):
        host, _, port = item.strip().rpartition(":")
        servers.append((host or item.strip(), int(port or 11211)))
    return servers


class MemcachedDriver:
    def __init__(self, spec: str) -> None:
        timeout = config.get_float("MEMCACHED_TIMEOUT_SECONDS", 0.25)
        self.client = HashClient(
            _servers(spec),
            connect_timeout=timeout,
            timeout=timeout,
            retry_attempts=1,
            retry_timeout=1,
            dead_timeout=5,
            ignore_exc=False,
            use_pooling=True,
            max_pool_size=4,
            no_delay=True,
        )

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        found = self.client.get_many(keys)
        return {k: v for k, v in found.items() if v is not None}

    def set_many(self, items: dict[str, bytes], ttl: int) -> None:
        failed = self.client.set_many(items, expire=ttl, noreply=False)
        if failed:
            raise ConnectionError(f"{len(failed)} keys not stored")

    def add(self, key: str, value: bytes, ttl: int) -> bool:
        return bool(self.client.add(key, value, expire=ttl, noreply=False))

    def delete_many(self, keys: list[str]) -> None:
        self.client.delete_many(keys, noreply=False)

    def incr(self, key: str, delta: int, ttl: int) -> int:
        """Atomic across processes: add the key if new, then incr it on the server."""
        value = self.client.incr(key, delta, noreply=False)
        if value is False:
            # HashClient's answer while every server is marked dead.
            raise ConnectionError("no live memcached server")
        if value is None:
            self.client.add(key, b"0", expire=ttl, noreply=False)
            value = self.client.incr(key, delta, noreply=False)
        if value is False:
            # HashClient's answer while every server is marked dead.
            raise ConnectionError("no live memcached server")
        if value is None:
            raise ConnectionError("counter could not be created")
        return int(value)

    def ping(self) -> None:
        for server in self.client.clients.values():
            server.version()
        if not self.client.clients:
            raise ConnectionError("no memcached server configured")
