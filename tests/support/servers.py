"""Throwaway PostgreSQL, memcached and moto servers for the test suite.

Each server listens on a free 127.0.0.1 port, is started with ``start()`` and
leaves nothing behind after ``stop()`` (an ``atexit`` hook stops anything a
crashed test run forgot).  A missing binary or a failed start raises
:class:`ServerUnavailable`; fixtures turn that into :func:`unavailable`, which
skips the test, or fails it when ``TEXTFILES_REQUIRE_BACKENDS=1`` (CI).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, NoReturn, Self, TypeVar

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

__all__ = [
    "AWS_ENV",
    "REQUIRE_BACKENDS_ENV",
    "ChaliceLocal",
    "MemcachedServer",
    "MotoServer",
    "PostgresServer",
    "ServerUnavailable",
    "free_port",
    "started",
    "unavailable",
]

REQUIRE_BACKENDS_ENV = "TEXTFILES_REQUIRE_BACKENDS"

# Dummy credentials and a region for boto3/botocore against moto: never a real account,
# and no probe of an instance-metadata endpoint.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
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


def _wait_for_port(
    port: int,
    timeout: float,
    alive: _AliveCheck | None = None,
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


class _AliveCheck:
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


class _Server:
    """Context-manager and atexit plumbing shared by the servers."""

    def start(self) -> None:
        """Start the server."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop the server and remove what it left behind."""
        raise NotImplementedError

    def _register(self) -> None:
        atexit.register(self.stop)

    def _unregister(self) -> None:
        atexit.unregister(self.stop)

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


# --------------------------------------------------------------------------- PostgreSQL


_S = TypeVar("_S", bound=_Server)


def started(server: _S, what: str) -> _S:
    """``server``, started; if it cannot start, :func:`unavailable` (skip, or fail in CI)."""
    try:
        server.start()
    except ServerUnavailable as exc:
        unavailable(what, str(exc))
    return server


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def find_pg_bin() -> Path:
    """Directory of the newest installed PostgreSQL binaries (env ``PG_BIN`` wins)."""
    override = os.environ.get("PG_BIN")
    candidates = (
        [override]
        if override
        else sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    )
    if not override:
        on_path = shutil.which("pg_ctl")
        if on_path:
            candidates.append(str(Path(on_path).parent))
    for candidate in candidates:
        if candidate and all((Path(candidate) / tool).is_file() for tool in ("initdb", "pg_ctl")):
            return Path(candidate)
    where = f"PG_BIN={override}" if override else "/usr/lib/postgresql/*/bin or PATH"
    raise ServerUnavailable(f"PostgreSQL initdb/pg_ctl not found in {where}")


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


class PostgresServer(_Server):
    """A throwaway PostgreSQL cluster (trust auth, user ``postgres``) on 127.0.0.1.

    With ``tls_only=True`` the server has a self-signed certificate, ``ssl=on`` and a
    pg_hba.conf of ``hostssl`` lines only: a TCP client without TLS is refused, as RDS
    with ``rds.force_ssl`` refuses it. Its URLs carry ``sslmode=require``.
    """

    def __init__(self, start_timeout: float = 30.0, tls_only: bool = False) -> None:
        self.start_timeout = start_timeout
        self.tls_only = tls_only
        self.port: int | None = None
        self.base_dir: Path | None = None
        self._running = False
        self._as_postgres = os.geteuid() == 0

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        if self.base_dir is None:
            raise RuntimeError("PostgresServer is not started")
        return self.base_dir / "data"

    @property
    def url(self) -> str:
        """URL of the ``postgres`` database."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        """URL of database *name* on this server."""
        if self.port is None:
            raise RuntimeError("PostgresServer is not started")
        query = "?sslmode=require" if self.tls_only else ""
        return f"postgresql://postgres@{HOST}:{self.port}/{name}{query}"

    @property
    def running(self) -> bool:
        """Whether the cluster is currently up (False while paused)."""
        return self._running

    def _run(self, bin_dir: Path, tool: str, *args: str, timeout: float) -> None:
        cmd = [str(bin_dir / tool), *args]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        try:
            result = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
                cwd=self.base_dir,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServerUnavailable(f"{tool} failed: {exc}") from exc
        if result.returncode != 0:
            out = (result.stdout + result.stderr).decode(errors="replace").strip()
            raise ServerUnavailable(f"{tool} exited with status {result.returncode}: {out}")

    def _log_tail(self) -> str:
        if self.base_dir is None:
            return ""
        try:
            lines = (self.base_dir / "log").read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-20:])

    def start(self) -> None:
        """Create a fresh cluster in a temp dir and start it on a free port."""
        if self.base_dir is not None:
            raise RuntimeError("PostgresServer already started")
        bin_dir = find_pg_bin()
        if self._as_postgres:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise ServerUnavailable("running as root but no 'postgres' user exists") from None
            if shutil.which("runuser") is None:
                raise ServerUnavailable("running as root but 'runuser' is not installed")
        self.base_dir = Path(tempfile.mkdtemp(prefix="textfiles-pg-"))
        self._register()
        try:
            if self._as_postgres:
                os.chmod(self.base_dir, 0o755)
                shutil.chown(self.base_dir, "postgres", "postgres")
            self._run(
                bin_dir,
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                timeout=self.start_timeout,
            )
            if self.tls_only:
                self._configure_tls()
            last: ServerUnavailable | None = None
            for _ in range(3):  # a "free" port can be taken before postgres binds it
                self.port = free_port()
                try:
                    self._pg_start(bin_dir)
                    return
                except ServerUnavailable as exc:
                    last = exc
            assert last is not None
            raise last
        except BaseException:
            self.stop()
            raise

    def _configure_tls(self) -> None:
        """A certificate, ``ssl=on`` and only ``hostssl`` lines for TCP clients."""
        data = self.data_dir
        self_signed_cert(data / "server.key", data / "server.crt")
        lines = ["local all all trust", f"hostssl all all {HOST}/32 trust"]
        (data / "pg_hba.conf").write_text("\n".join([*lines, "hostssl all all ::1/128 trust\n"]))
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
        os.chmod(data / "server.key", 0o600)
        if self._as_postgres:
            for name in ("server.key", "server.crt", "pg_hba.conf"):
                shutil.chown(data / name, "postgres", "postgres")

    def connect(self, database: str = "postgres", user: str = "postgres") -> Any:
        """A pg8000 native connection (over TLS when the server is TLS-only)."""
        import pg8000.native

        if self.port is None:
            raise RuntimeError("PostgresServer is not started")
        context: ssl.SSLContext | bool = client_ssl_context() if self.tls_only else False
        return pg8000.native.Connection(
            user, host=HOST, port=self.port, database=database, ssl_context=context
        )

    def _pg_start(self, bin_dir: Path | None = None) -> None:
        assert self.base_dir is not None and self.port is not None
        options = (
            f"-p {self.port} -k {shlex.quote(str(self.base_dir))} "
            f"-c listen_addresses={HOST} -c fsync=off"
        )
        try:
            self._run(
                bin_dir or find_pg_bin(),
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.base_dir / "log"),
                "-w",
                "-t",
                str(int(self.start_timeout)),
                "-o",
                options,
                "start",
                timeout=self.start_timeout + 5,
            )
        except ServerUnavailable as exc:
            raise ServerUnavailable(f"{exc}\n--- server log ---\n{self._log_tail()}") from exc
        self._running = True

    def _pg_stop(self, mode: str) -> None:
        assert self.base_dir is not None
        self._run(
            find_pg_bin(),
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-m",
            mode,
            "-w",
            "stop",
            timeout=self.start_timeout,
        )
        self._running = False

    def pause(self) -> None:
        """Stop the cluster but keep its data (simulates a database outage)."""
        if not self._running:
            raise RuntimeError("PostgresServer is not running")
        self._pg_stop("fast")

    def resume(self) -> None:
        """Start the same cluster again, on the same port, after :meth:`pause`."""
        if self.base_dir is None:
            raise RuntimeError("PostgresServer is not started")
        if not self._running:
            self._pg_start()

    def stop(self) -> None:
        """Stop the cluster immediately and delete its directory."""
        self._unregister()
        if self.base_dir is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                try:
                    self._pg_stop("immediate")
                except ServerUnavailable:
                    self._kill_postmaster()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
            self.port = None
            self._running = False

    def _kill_postmaster(self) -> None:
        """Last resort when pg_ctl stop fails: SIGQUIT (immediate shutdown) the postmaster."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGQUIT)
        except (OSError, ValueError, IndexError):
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                return
            time.sleep(0.05)

    def create_database(self, name: str) -> str:
        """Create database *name* and return its URL."""
        import pg8000.native

        conn = self.connect()
        try:
            conn.run(f"CREATE DATABASE {pg8000.native.identifier(name)}")
        finally:
            conn.close()
        return self.database_url(name)


# --------------------------------------------------------------------------- memcached


def find_memcached() -> str:
    """Path of the memcached binary."""
    found = shutil.which("memcached")
    if found:
        return found
    if os.access("/usr/bin/memcached", os.X_OK):
        return "/usr/bin/memcached"
    raise ServerUnavailable("memcached not found (apt-get install -y memcached)")


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


class MemcachedServer(_Server):
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
        _wait_for_port(
            self.port,
            self.start_timeout,
            _AliveCheck("memcached", self._proc, self._log),
            _is_memcached,
        )

    def _reap(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        log, self._log = self._log, None
        if log is not None:
            log.close()

    def stop(self) -> None:
        """Terminate memcached (SIGKILL if it lingers)."""
        self._unregister()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=self.stop_timeout)
        self._reap()
        self.port = None

    def kill(self) -> None:
        """SIGKILL memcached, simulating a crash; the port is kept for :meth:`restart`."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        self._reap()

    def restart(self) -> None:
        """Start memcached again on the same port (empty cache)."""
        if self.port is None:
            raise RuntimeError("MemcachedServer was never started")
        self.kill()
        self.start()


# --------------------------------------------------------------------------- moto


class MotoServer(_Server):
    """moto's threaded server, in this process, on a free 127.0.0.1 port.

    It shares moto's global backends with ``moto.mock_aws`` in the same process.
    """

    def __init__(self, start_timeout: float = 30.0) -> None:
        self.start_timeout = start_timeout
        self.port: int | None = None
        self._server: ThreadedMotoServer | None = None

    @property
    def endpoint(self) -> str:
        """Endpoint URL for boto3's ``endpoint_url``."""
        if self.port is None:
            raise RuntimeError("MotoServer is not started")
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        """Start the server thread and wait until it is bound."""
        if self._server is not None:
            raise RuntimeError("MotoServer already started")
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:
            raise ServerUnavailable(f"moto[server] is not installed: {exc}") from exc
        server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
        # ThreadedMotoServer.start() waits forever if binding fails (the error is
        # raised in its own thread), so wait for it from a helper thread.
        starter = threading.Thread(target=server.start, daemon=True, name="moto-start")
        starter.start()
        starter.join(self.start_timeout)
        if starter.is_alive():
            raise ServerUnavailable(
                f"moto server not ready within {self.start_timeout:.0f} s"
                " (see the thread exception reported above)"
            )
        self._server = server
        self.port = server.get_host_and_port()[1]
        self._register()

    def stop(self) -> None:
        """Stop the server thread and close its socket."""
        self._unregister()
        server, self._server = self._server, None
        self.port = None
        if server is None:
            return
        server.stop()
        wsgi = getattr(server, "_server", None)
        if wsgi is not None:  # shutdown() leaves the listening socket open
            wsgi.server_close()

    def reset(self) -> None:
        """Clear all moto state (``POST /moto-api/reset``)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


# --------------------------------------------------------------------------- chalice local


class ChaliceLocal:
    """`chalice local` of this project in a subprocess, on a free port, on the `local` stage."""

    def __init__(self, env: dict[str, str], start_timeout: float = 30.0) -> None:
        self.env = env
        self.port = free_port()
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        # A file, not a pipe: a busy server's log lines never fill a buffer nobody reads.
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as the server

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, size: int = 4000) -> str:
        """The end of what the server wrote to stderr."""
        self._log.seek(0)
        return self._log.read()[-size:].decode(errors="replace")

    def start(self) -> None:
        import sys

        chalice = Path(sys.executable).parent / "chalice"
        root = Path(__file__).resolve().parents[2]
        command = [str(chalice), "local", "--stage", "local", "--no-autoreload"]
        command += ["--host", HOST, "--port", str(self.port)]
        self._proc = subprocess.Popen(
            command, cwd=root, env=self.env, stdout=self._log, stderr=self._log
        )
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                urllib.request.urlopen(f"{self.base}/health", timeout=1).close()
                return
            except urllib.error.HTTPError:
                return  # it answers: a backend may be down, which is the test's business
            except OSError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    tail = self.log_tail(800)
                    raise ServerUnavailable(f"chalice local did not start: {tail}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
