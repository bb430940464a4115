"""TCP connections to our backends, opened one way."""

from __future__ import annotations

import socket


def connect(address: tuple[str, int], timeout: float, *, keepalive: bool = False) -> socket.socket:
    """A connection with Nagle's algorithm off (as libpq, http.client and pymemcache's
    `no_delay` open theirs): a request written in two pieces, such as a TLS handshake's last
    record then the first message, goes out at once instead of waiting for the peer's
    delayed acknowledgement (about 40 ms)."""
    sock = socket.create_connection(address, timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if keepalive:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    except OSError:
        sock.close()
        raise
    return sock
