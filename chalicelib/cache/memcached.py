"""The memcached driver (pymemcache): one server, or keys hashed across several."""

from __future__ import annotations

from typing import Any

from chalicelib import config


def _servers(spec: str) -> list[tuple[str, int]]:
    servers = []
    for item in spec.split(","):
        host, _, port = item.strip().rpartition(":")
        servers.append((host or item.strip(), int(port or 11211)))
    return servers


class MemcachedDriver:
    def __init__(self, spec: str) -> None:
        timeout = config.get_float("MEMCACHED_TIMEOUT_SECONDS")
        common: dict[str, Any] = {
            "connect_timeout": timeout,
            "timeout": timeout,
            "no_delay": True,
            # No cap: a connection per request in flight. Lambda runs one at a time; a
            # threaded local server runs many, and a capped pool would refuse one of them
            # ("Too many objects"), which the port would take for a cache outage.
            "max_pool_size": None,
        }
        servers = _servers(spec)
        self.client: Any
        self.single: tuple[str, int] | None = None
        if len(servers) == 1:
            # One server needs no key hashing (pure Python, a quarter of a cached GET).
            from pymemcache.client.base import PooledClient

            self.client = PooledClient(servers[0], **common)
            self.single = servers[0]
        else:
            from pymemcache.client.hash import HashClient

            self.client = HashClient(
                servers,
                retry_attempts=1,
                retry_timeout=1,
                dead_timeout=5,
                ignore_exc=False,
                use_pooling=True,
                **common,
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
        value = self.client.incr(key, delta, noreply=False)
        if value is None:  # NOT_FOUND: create it, then count
            self.client.add(key, b"0", expire=ttl, noreply=False)
            value = self.client.incr(key, delta, noreply=False)
        if value is None or value is False:  # False: HashClient with every server dead
            raise ConnectionError("the counter could not be incremented")
        return int(value)

    def get_many_incr(
        self, keys: list[str], counter: str, ttl: int
    ) -> tuple[dict[str, bytes], int, int]:
        if self.single is None:  # several servers: the keys may live on different ones
            return self.get_many(keys), self.incr(counter, 1, ttl), 2
        pool = self.client.client_pool  # get_and_release without its generator's cost
        client = pool.get()
        try:
            found, count = _pipelined(client, keys, counter)
        except Exception:
            pool.destroy(client)  # a fault leaves the connection mid-answer: never reused
            raise
        pool.release(client)
        if count is None:  # the window's first request: create the counter
            return found, self.incr(counter, 1, ttl), 3
        return found, count, 1

    def ping(self) -> None:
        servers = getattr(self.client, "clients", None)
        for server in servers.values() if servers is not None else [self.client]:
            server.version()
        if servers is not None and not servers:
            raise ConnectionError("no memcached server configured")


def _pipelined(client: Any, keys: list[str], counter: str) -> tuple[dict[str, bytes], int | None]:
    """`get k1 k2 ...` and `incr counter 1` written together, both answers read back.

    pymemcache has no pipelining, so this writes on one of its pooled connections and parses
    the answers from one buffer (a line at a time costs more than the round trip saves);
    any fault discards that connection. Values are the raw bytes the drivers store (flags
    0). tests/backends/test_memcached_wire.py holds it equal to pymemcache's own reader on
    answers split at random; tests/backends/test_real_backends.py runs it on a real memcached.
    """
    names = [_wire_key(key) for key in keys]
    command = b"incr " + _wire_key(counter) + b" 1\r\n"
    if names:
        command = b"get " + b" ".join(names) + b"\r\n" + command
    if client.sock is None:
        client._connect()
    sock = client.sock
    sock.sendall(command)
    buf, pos, found = _values(sock, _recv(sock, _RECV_SIZE), bool(names))
    end = buf.find(b"\r\n", pos)
    if end < 0:
        buf, end = _line(sock, buf, pos)
    line = buf[pos:end]
    if line == b"NOT_FOUND":
        return found, None
    if not line.isdigit():
        raise _unknown(line)
    return found, int(line)


def _values(sock: Any, buf: bytes, wanted: bool) -> tuple[bytes, int, dict[str, bytes]]:
    """The `get` answer's values (none unless `wanted`): the buffer, where the `get` answer
    ends in it, and the values by key."""
    pos, found = 0, {}
    while wanted:
        end = buf.find(b"\r\n", pos)
        if end < 0:
            buf, end = _line(sock, buf, pos)
        if buf.startswith(b"END\r\n", pos):
            pos = end + 2
            break
        if not buf.startswith(b"VALUE ", pos):
            raise _unknown(buf[pos:end])
        _, key, _flags, size = buf[pos:end].split()
        start = end + 2
        stop = start + int(size)
        if len(buf) < stop + 2:
            buf = _fill(sock, buf, stop + 2)
        if buf[stop : stop + 2] != b"\r\n":
            raise _unknown(buf[stop : stop + 2])
        found[key.decode()] = buf[start:stop]
        pos = stop + 2
    return buf, pos, found


_RECV_SIZE = 65536


def _line(sock: Any, buf: bytes, pos: int) -> tuple[bytes, int]:
    """The buffer, read on until a line starts at `pos`; and where that line's CRLF is."""
    end = buf.find(b"\r\n", pos)
    while end < 0:
        buf = _more(sock, buf, _RECV_SIZE)
        end = buf.find(b"\r\n", max(pos, len(buf) - _RECV_SIZE - 1))
    return buf, end


def _fill(sock: Any, buf: bytes, size: int) -> bytes:
    """The buffer, read on until it holds `size` bytes (joined once: a body may be large)."""
    if len(buf) >= size:
        return buf
    chunks, have = [buf], len(buf)
    while have < size:
        chunks.append(_recv(sock, max(size - have, _RECV_SIZE)))
        have += len(chunks[-1])
    return b"".join(chunks)


def _more(sock: Any, buf: bytes, size: int) -> bytes:
    return buf + _recv(sock, size)


def _recv(sock: Any, size: int) -> bytes:
    chunk: bytes = sock.recv(size)
    if not chunk:
        from pymemcache.exceptions import MemcacheUnexpectedCloseError

        raise MemcacheUnexpectedCloseError()
    return chunk


def _unknown(line: bytes) -> Exception:
    from pymemcache.exceptions import MemcacheUnknownError

    error: Exception = MemcacheUnknownError(line[:32])
    return error


def _wire_key(key: str) -> bytes:
    """A key as memcached's text protocol takes it: printable ASCII without spaces, at most
    250 bytes (what pymemcache's check_key enforces, at a fraction of its cost)."""
    if len(key) > 250 or not key.isascii() or not key.isprintable() or " " in key:
        raise ValueError(f"not a memcached key: {key[:40]!r}")
    return key.encode()
