"""The driver's own reader of a pipelined `get` + `incr` answer (chalicelib/cache/wire.py)
against pymemcache's: a scripted memcached sends the same answers cut into random pieces, and
both must read the same values and the same count. A real memcached on loopback rarely splits
an answer; a server far away does."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.cache import wire
from support.net import HOST

CASES = 150


class Scripted:
    """Answers each command line with the bytes the case holds for it, in random pieces."""

    def __init__(self) -> None:
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.answers: dict[bytes, bytes] = {}
        self.rng = random.Random(7)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            buf = b""
            while chunk := conn.recv(65536):
                buf += chunk
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    self._send(conn, self.answers[line.split()[0]])

    def _send(self, conn: socket.socket, data: bytes) -> None:
        cuts = sorted(self.rng.sample(range(1, len(data)), min(len(data) - 1, 4)))
        for start, stop in zip([0, *cuts], [*cuts, len(data)], strict=True):
            conn.sendall(data[start:stop])

    def stop(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Scripted]:
    scripted = Scripted()
    yield scripted
    scripted.stop()


def _value(rng: random.Random) -> bytes:
    size = rng.choice([0, 1, 5, 300, 70_000])
    pieces = [b"END", b"\r\n", b"VALUE x 0 3", b"a", b"\xff"]
    return b"".join(rng.choice(pieces) for _ in range(size))[:size]


def _case(rng: random.Random) -> tuple[dict[str, bytes], bytes, bytes]:
    """Stored values (some keys absent), the `get` answer and the `incr` answer."""
    values = {f"tf:k{i}": _value(rng) for i in range(rng.randint(0, 4)) if rng.random() < 0.7}
    get = b"".join(b"VALUE %s 0 %d\r\n%s\r\n" % (k.encode(), len(v), v) for k, v in values.items())
    incr = rng.choice([b"NOT_FOUND\r\n", b"%d\r\n" % rng.randint(1, 10**6)])
    return values, get + b"END\r\n", incr


def test_the_exchange_reads_what_pymemcache_reads(server: Scripted) -> None:
    from pymemcache.client.base import Client

    ours = socket.create_connection((HOST, server.port), 2)
    theirs = Client((HOST, server.port), connect_timeout=2, timeout=2)
    rng = random.Random(11)
    try:
        for _ in range(CASES):
            values, get, incr = _case(rng)
            server.answers = {b"get": get, b"incr": incr}
            keys = [*values, "tf:absent"]
            ask = rng.choice(["both", "get", "incr"])  # one command alone is read alike
            counter = None if ask == "get" else "tf:rl:t"
            found, count = wire.exchange(ours, [] if ask == "incr" else keys, counter)
            if ask != "incr":
                reference: Any = theirs.get_many(keys)
                assert found == {k: v for k, v in reference.items() if v is not None} == values
            if ask != "get":
                assert count == theirs.incr("tf:rl:t", 1)
    finally:
        theirs.close()
        ours.close()
