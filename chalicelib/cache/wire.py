"""The one memcached exchange a cached read makes, on a socket of the driver's own: `get`
of the request's keys and `incr` of its rate counter, written together, both answers read
back from one buffer. pymemcache has no pipelining, and importing it costs a cold start
about 10 ms (its package imports every client, `ssl`, `platform`, `pickle`): a cold cached
read needs nothing else from it. tests/backends/test_memcached_wire.py holds this reader
equal to pymemcache's on answers split at random; tests/backends/test_real_backends.py
runs it on a real memcached.
"""

from __future__ import annotations

import socket


class WireError(ConnectionError):
    """An answer this exchange cannot read: the connection is dropped."""


def exchange(
    sock: socket.socket, keys: list[str], counter: str | None = None, delta: int = 1
) -> tuple[dict[str, bytes], int | None]:
    """`get k1 k2 ...` and/or `incr counter delta`, written together on `sock`: the values
    found (the raw bytes the drivers store, flags 0) and the count, None if the counter does
    not exist or was not asked for. A fault leaves the connection mid-answer: the caller
    drops it."""
    names = [wire_key(key) for key in keys]
    command = b"get " + b" ".join(names) + b"\r\n" if names else b""
    if counter is not None:
        command += b"incr %s %d\r\n" % (wire_key(counter), delta)
    if not command:
        return {}, None
    sock.sendall(command)
    buf, pos, found = _values(sock, _recv(sock, _RECV_SIZE), bool(names))
    if counter is None:
        return found, None
    end = buf.find(b"\r\n", pos)
    if end < 0:
        buf, end = _line(sock, buf, pos)
    line = buf[pos:end]
    if line == b"NOT_FOUND":
        return found, None
    if not line.isdigit():
        raise _unknown(line)
    return found, int(line)


def _values(sock: socket.socket, buf: bytes, wanted: bool) -> tuple[bytes, int, dict[str, bytes]]:
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


def _line(sock: socket.socket, buf: bytes, pos: int) -> tuple[bytes, int]:
    """The buffer, read on until a line starts at `pos`; and where that line's CRLF is."""
    end = buf.find(b"\r\n", pos)
    while end < 0:
        buf = _more(sock, buf, _RECV_SIZE)
        end = buf.find(b"\r\n", max(pos, len(buf) - _RECV_SIZE - 1))
    return buf, end


def _fill(sock: socket.socket, buf: bytes, size: int) -> bytes:
    """The buffer, read on until it holds `size` bytes (joined once: a body may be large)."""
    if len(buf) >= size:
        return buf
    chunks, have = [buf], len(buf)
    while have < size:
        chunks.append(_recv(sock, max(size - have, _RECV_SIZE)))
        have += len(chunks[-1])
    return b"".join(chunks)


def _more(sock: socket.socket, buf: bytes, size: int) -> bytes:
    return buf + _recv(sock, size)


def _recv(sock: socket.socket, size: int) -> bytes:
    chunk = sock.recv(size)
    if not chunk:
        raise WireError("memcached closed the connection")
    return chunk


def _unknown(line: bytes) -> WireError:
    return WireError(f"unexpected answer from memcached: {line[:32]!r}")


def wire_key(key: str) -> bytes:
    """A key as memcached's text protocol takes it: printable ASCII without spaces, at most
    250 bytes (what pymemcache's check_key enforces, at a fraction of its cost)."""
    if len(key) > 250 or not key.isascii() or not key.isprintable() or " " in key:
        raise ValueError(f"not a memcached key: {key[:40]!r}")
    return key.encode()
