"""Fault injection: a TCP proxy in front of a real backend that cuts, delays or drops replies.

The app is pointed at the proxy instead of the server (``DATABASE_URL``, ``MEMCACHED_SERVERS``,
``AWS_ENDPOINT_URL``); the test then breaks the path on purpose:

- ``cut()``: every open connection is closed and new ones are closed at once, until
  ``restore()`` (a network partition that the client sees as resets);
- ``delay(seconds)``: the server's replies are held back that long (a slow or hung server);
- ``drop_reply_after(pattern)``: the next request that contains ``pattern`` reaches the server,
  which runs it; its reply is swallowed and the connection closed (the outcome is ambiguous to
  the client: a COMMIT that happened, a claim that matched, a SET that was stored);
- ``delay_reply_after(pattern, seconds)``: the same request runs, and its reply is held back
  that long (a COMMIT slower than the client's timeout); other replies pass at once.

Nothing here knows a protocol: patterns are bytes as the client sends them (a statement's SQL
text for PostgreSQL, ``b"set tf:"`` for memcached, ``b"PUT /bucket/"`` for S3 over HTTP).

One caveat for PostgreSQL: pg8000 sends a statement with parameters as three requests (Parse,
Describe, then Bind + Execute); only the last one runs it, and it does not carry the SQL text.
``drop_reply_after(sql, then=PG_EXECUTE)`` swallows the reply to the first request at or after
the match that contains ``then``: the statement has run. A statement without parameters
(``COMMIT``) is one simple-query request and needs no ``then``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Self

from support.net import HOST, Running

_CHUNK = 65536
# PostgreSQL's Execute message for the unnamed portal, no row limit (pg8000's EXECUTE_MSG).
PG_EXECUTE = b"E\x00\x00\x00\x09\x00\x00\x00\x00\x00"


@dataclass
class _Drop:
    """Swallow the reply to the next request containing ``pattern``."""

    pattern: bytes
    times: int
    seen: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    hold: float | None = None  # pass the reply on after this many seconds instead
    then: bytes | None = None  # the reply to drop is that of a later request holding this


class _Link:
    """One client connection and its upstream twin, pumped by two threads."""

    def __init__(self, proxy: FaultProxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.drop_next_reply: _Drop | None = None
        self._pending: _Drop | None = None  # matched; waiting for the request holding `then`
        self.closed = threading.Event()
        self._tail = b""

    def start(self) -> None:
        for target in (self._pump_requests, self._pump_replies):
            threading.Thread(target=target, daemon=True).start()

    def close(self) -> None:
        self.closed.set()
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        self.proxy._forget(self)

    def _pump_requests(self) -> None:
        while not self.closed.is_set():
            data = self._recv(self.client)
            if not data:
                break
            window = self._tail + data
            drop = self.proxy._claim_drop(window, len(self._tail))
            self._tail = window[-256:]
            if drop is not None and drop.then is not None:
                self._pending = drop
            elif drop is not None:
                self.drop_next_reply = drop
            pending = self._pending
            if pending is not None and pending.then is not None and pending.then in data:
                self._pending = None
                self.drop_next_reply = pending
            if not self._send(self.upstream, data):
                break
        self.close()

    def _pump_replies(self) -> None:
        while not self.closed.is_set():
            data = self._recv(self.upstream)
            if not data:
                break
            drop = self.drop_next_reply
            if drop is not None and drop.hold is not None:
                self.drop_next_reply = None
                time.sleep(drop.hold)
                drop.seen += 1
                drop.done.set()
            elif drop is not None:
                # The server ran the request and answered: the client never learns which.
                drop.seen += 1
                drop.done.set()
                break
            pause = self.proxy.reply_delay
            if pause:
                time.sleep(pause)
            if not self._send(self.client, data):
                break
        self.close()

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        try:
            return sock.recv(_CHUNK)
        except OSError:
            return b""

    @staticmethod
    def _send(sock: socket.socket, data: bytes) -> bool:
        try:
            sock.sendall(data)
        except OSError:
            return False
        return True


class FaultProxy(Running):
    """A TCP proxy on a free 127.0.0.1 port in front of ``upstream`` (host, port)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.reply_delay = 0.0
        self.connections = 0  # accepted so far, cut ones included
        self._cut = False
        self._drops: list[_Drop] = []
        self._links: set[_Link] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.2)
        self._running = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def port(self) -> int:
        port: int = self._listener.getsockname()[1]
        return port

    @property
    def address(self) -> str:
        """``host:port`` of the proxy, for settings like ``MEMCACHED_SERVERS``."""
        return f"{HOST}:{self.port}"

    def start(self) -> Self:
        self._running.set()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running.clear()
        self._thread.join(timeout=2)
        with contextlib.suppress(OSError):
            self._listener.close()
        self._close_links()

    # --- faults -------------------------------------------------------------

    def cut(self) -> None:
        """Close every connection and refuse new ones until ``restore()``."""
        self._cut = True
        self._close_links()

    def restore(self) -> None:
        """Undo ``cut()`` and ``delay()``; pending drops stay armed."""
        self._cut = False
        self.reply_delay = 0.0

    def delay(self, seconds: float) -> None:
        """Hold each reply back ``seconds`` before passing it on."""
        self.reply_delay = seconds

    def drop_reply_after(
        self, pattern: bytes, times: int = 1, then: bytes | None = None
    ) -> threading.Event:
        """Let the next ``times`` requests containing ``pattern`` run; swallow their replies.

        With ``then``, the reply swallowed is that of the first request (from the matching one
        on) that contains ``then`` (see ``PG_EXECUTE``). The returned event is set once a
        reply has been swallowed.
        """
        drop = _Drop(pattern=pattern, times=times, then=then)
        with self._lock:
            self._drops.append(drop)
        return drop.done

    def delay_reply_after(
        self, pattern: bytes, seconds: float, times: int = 1, then: bytes | None = None
    ) -> threading.Event:
        """Like ``drop_reply_after``, but the reply is held back ``seconds`` and then passed
        on (the client may have given up by then). The event is set when it is passed on."""
        drop = _Drop(pattern=pattern, times=times, hold=seconds, then=then)
        with self._lock:
            self._drops.append(drop)
        return drop.done

    # --- internals ----------------------------------------------------------

    def _claim_drop(self, window: bytes, seen: int) -> _Drop | None:
        """The armed drop whose pattern ends in the new bytes of ``window`` (its first ``seen``
        bytes were already matched against, with the previous request)."""
        with self._lock:
            for drop in self._drops:
                if window.find(drop.pattern, max(0, seen - len(drop.pattern) + 1)) >= 0:
                    drop.times -= 1
                    if drop.times <= 0:
                        self._drops.remove(drop)
                    return drop
        return None

    def _forget(self, link: _Link) -> None:
        with self._lock:
            self._links.discard(link)

    def _close_links(self) -> None:
        with self._lock:
            links = list(self._links)
        for link in links:
            link.close()

    def _accept_loop(self) -> None:
        while self._running.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._open(client)

    def _open(self, client: socket.socket) -> None:
        if self._cut:
            client.close()
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        for sock in (upstream, client):
            sock.settimeout(None)
            # Pass each small message on at once: without it, Nagle's algorithm and delayed
            # ACKs hold every round trip of a chatty protocol ~40 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link(self, client, upstream)
        with self._lock:
            self._links.add(link)
        link.start()


def host_port(address: str) -> tuple[str, int]:
    """``("127.0.0.1", 11211)`` from ``"127.0.0.1:11211"``."""
    host, _, port = address.rpartition(":")
    return host, int(port)
