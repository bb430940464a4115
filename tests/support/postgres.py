"""A throwaway PostgreSQL cluster for the test suite (plain, or TLS-only as RDS forces it)."""

from __future__ import annotations

import glob
import os
import pwd
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from support.net import (
    HOST,
    Server,
    ServerUnavailable,
    client_ssl_context,
    free_port,
    self_signed_cert,
)

__all__ = ["PostgresServer", "find_pg_bin"]


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


class PostgresServer(Server):
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
