"""A throwaway memcached for the test suite, to kill and restart at will."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from typing import IO

from support.net import (
    HOST,
    AliveCheck,
    Server,
    ServerUnavailable,
    end_process,
    free_port,
    wait_for_port,
)

__all__ = ["MemcachedServer", "find_memcached"]


def find_memcached() -> str:
    """Path of the memcached binary."""
    found = shutil.which("memcached")
    if found:
        return found
    if os.access("/usr/bin/memcached", os.X_OK):
        return "/usr/bin/memcached"
    raise ServerUnavailable("memcached not found (apt-get install -y memcached)")


def _is_memcached(sock: socket.socket) -> bool:
    """Whether the peer answers memcached's ``version`` command."""
    sock.sendall(b"version\r\n")
    reply = b""
    while b"\r\n" not in reply:
        chunk = sock.recv(256)
        if not chunk:
            break
        reply += chunk
    return reply.startswith(b"VERSION ")


def _memcached_user() -> str | None:
    """The user memcached should drop to when we run as root."""
    if os.geteuid() != 0:
        return None
    for user in ("memcache", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return user
    return "root"  # memcached refuses root unless told explicitly


class MemcachedServer(Server):
    """A foreground memcached on 127.0.0.1 (TCP only, 64 MiB)."""

    def __init__(self, start_timeout: float = 10.0, stop_timeout: float = 5.0) -> None:
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def servers(self) -> str:
        """``host:port`` of the server, as configuration expects it."""
        if self.port is None:
            raise RuntimeError("MemcachedServer is not started")
        return f"{HOST}:{self.port}"

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` tuple, as pymemcache expects it."""
        if self.port is None:
            raise RuntimeError("MemcachedServer is not started")
        return (HOST, self.port)

    @property
    def running(self) -> bool:
        """Whether the memcached process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start memcached on a free port (or its previous port after :meth:`kill`)."""
        if self.running:
            raise RuntimeError("MemcachedServer already running")
        binary = find_memcached()
        fixed_port = self.port is not None
        attempts = 1 if fixed_port else 3
        for attempt in range(attempts):
            if not fixed_port:
                self.port = free_port()
            try:
                self._spawn(binary)
                self._register()
                return
            except ServerUnavailable:
                self._reap()
                if attempt == attempts - 1:
                    if not fixed_port:
                        self.port = None
                    raise

    def _spawn(self, binary: str) -> None:
        assert self.port is not None
        cmd = [binary, "-l", HOST, "-p", str(self.port), "-U", "0", "-m", "64"]
        user = _memcached_user()
        if user is not None:
            cmd += ["-u", user]
        # Closed in _reap(): it must outlive this method, as the child writes to it.
        self._log = tempfile.TemporaryFile(prefix="textfiles-memcached-")  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
            )
        except OSError as exc:
            raise ServerUnavailable(f"cannot run {binary}: {exc}") from exc
        alive = AliveCheck("memcached", self._proc, self._log)
        wait_for_port(self.port, self.start_timeout, alive, _is_memcached)

    def _reap(self, grace: float | None = None) -> None:
        proc, self._proc = self._proc, None
        end_process(proc, grace)
        log, self._log = self._log, None
        if log is not None:
            log.close()

    def stop(self) -> None:
        """Terminate memcached (SIGKILL if it lingers)."""
        self._unregister()
        self._reap(self.stop_timeout)
        self.port = None

    def kill(self) -> None:
        """SIGKILL memcached, simulating a crash; the port is kept for :meth:`restart`."""
        self._reap()

    def restart(self) -> None:
        """Start memcached again on the same port (empty cache)."""
        if self.port is None:
            raise RuntimeError("MemcachedServer was never started")
        self.kill()
        self.start()
