"""What every throwaway server of the test suite shares: ports, start-or-skip, stopping.

Each server listens on a free 127.0.0.1 port, is started with ``start()`` and
leaves nothing behind after ``stop()`` (an ``atexit`` hook stops anything a
crashed test run forgot).  A missing binary or a failed start raises
:class:`ServerUnavailable`; fixtures turn that into :func:`unavailable`, which
skips the test, or fails it when ``TEXTFILES_REQUIRE_BACKENDS=1`` (CI).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, NoReturn, Self, TypeVar

__all__ = [
    "HOST",
    "REQUIRE_BACKENDS_ENV",
    "AliveCheck",
    "Running",
    "Server",
    "ServerUnavailable",
    "client_ssl_context",
    "end_process",
    "free_port",
    "self_signed_cert",
    "started",
    "unavailable",
    "wait_for_port",
]

REQUIRE_BACKENDS_ENV = "TEXTFILES_REQUIRE_BACKENDS"
HOST = "127.0.0.1"


class ServerUnavailable(RuntimeError):
    """A throwaway server could not be started (binary missing or startup failed)."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def backends_required() -> bool:
    """Whether ``TEXTFILES_REQUIRE_BACKENDS`` asks for failures instead of skips."""
    value = os.environ.get(REQUIRE_BACKENDS_ENV, "").strip().lower()
    return value in {"1", "true", "yes", "on"}


def unavailable(what: str, why: str) -> NoReturn:
    """Skip the current test because *what* is unavailable, or fail it in CI.

    Raises ``pytest.skip.Exception`` normally and ``pytest.fail.Exception``
    when ``TEXTFILES_REQUIRE_BACKENDS=1``, so CI can never silently skip.
    """
    import pytest

    if backends_required():
        raise pytest.fail.Exception(
            f"{what} is required ({REQUIRE_BACKENDS_ENV}=1) but unavailable: {why}",
            pytrace=False,
        ) from None
    raise pytest.skip.Exception(f"{what} unavailable: {why}", allow_module_level=True) from None


def end_process(proc: subprocess.Popen[bytes] | None, grace: float | None) -> None:
    """Stop a child and reap it: SIGTERM and up to ``grace`` seconds, then SIGKILL
    (``grace=None``: SIGKILL at once, as a crash would end it)."""
    if proc is None:
        return
    if proc.poll() is None and grace is not None:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    if proc.poll() is None:
        proc.kill()
    proc.wait()


class AliveCheck:
    """Raise ServerUnavailable when a child process has exited early."""

    def __init__(self, name: str, proc: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        self.name = name
        self.proc = proc
        self.log = log

    def __call__(self) -> None:
        code = self.proc.poll()
        if code is not None:
            self.log.seek(0)
            err = self.log.read().decode(errors="replace").strip()
            raise ServerUnavailable(
                f"{self.name} exited with status {code} during startup: {err or '(no output)'}"
            )


def wait_for_port(
    port: int,
    timeout: float,
    alive: AliveCheck | None = None,
    probe: Callable[[socket.socket], bool] | None = None,
) -> None:
    """Poll until 127.0.0.1:*port* accepts a connection (and *probe* says it is ours)."""
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None:
            alive()
        try:
            with socket.create_connection((HOST, port), timeout=0.5) as sock:
                if probe is None or probe(sock):
                    return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise ServerUnavailable(
                f"nothing usable answered on {HOST}:{port} within {timeout:.0f} s"
            )
        time.sleep(0.02)


class Running:
    """Something started by ``start()`` and stopped by ``stop()``, also as a with-block."""

    def start(self) -> object:
        """Start it."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop it and remove what it left behind."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Server(Running):
    """A throwaway server: what a crashed test run forgot is stopped at exit."""

    def _register(self) -> None:
        atexit.register(self.stop)

    def _unregister(self) -> None:
        atexit.unregister(self.stop)


_S = TypeVar("_S", bound=Server)


def started(server: _S, what: str) -> _S:
    """``server``, started; if it cannot start, :func:`unavailable` (skip, or fail in CI)."""
    try:
        server.start()
    except ServerUnavailable as exc:
        unavailable(what, str(exc))
    return server


def self_signed_cert(key: Path, cert: Path) -> None:
    """Write a throwaway self-signed certificate for 127.0.0.1 (``openssl`` CLI); with its
    IP in subjectAltName it also serves as the CA bundle of a verifying client."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ServerUnavailable("openssl not found: a TLS server needs a certificate")
    cmd = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    cmd += ["-subj", f"/CN={HOST}", "-addext", f"subjectAltName=IP:{HOST}"]
    cmd += ["-keyout", str(key), "-out", str(cert)]
    result = subprocess.run(cmd, capture_output=True, timeout=30, check=False)
    if result.returncode != 0:
        raise ServerUnavailable(f"openssl failed: {result.stderr.decode(errors='replace')}")


def client_ssl_context() -> ssl.SSLContext:
    """TLS without verification, as ``sslmode=require`` means to libpq."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
