"""The PostgreSQL driver (pg8000): one connection per process, reopened when it drops."""

from __future__ import annotations

import contextlib
import select
import ssl
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any

import pg8000.native
from pg8000.exceptions import DatabaseError, InterfaceError

from chalicelib import config, logs, tcp
from chalicelib.db.base import (
    IntegrityError,
    OutcomeUnknown,
    PostgresSettings,
    Row,
    Transactions,
)
from chalicelib.errors import BackendUnavailable

_INTEGRITY_CODES = {"23505", "23503", "23502", "23514"}
_AUTH_CODES = {"28P01", "28000"}
# The connection is gone (class 08) or the server is shutting it down (57P01-57P03).
_LOST_CODES = ("08", "57P")
# The statement was refused or cancelled and nothing of it stays: a timeout (57014), a
# deadlock or serialization failure (class 40), too many connections (53300).
_RETRY_LATER_CODES = ("57014", "40", "53", "55P03")
_SETTLE_S = 2.0
SQL_SESSION_STATE = "SELECT state FROM pg_stat_activity WHERE pid = :pid"


class AuthenticationFailed(BackendUnavailable):
    """The server refused the credentials (they may have been rotated)."""


def _ssl_context(sslmode: str) -> ssl.SSLContext | bool | None:
    """pg8000's ``ssl_context`` for a libpq ``sslmode``.

    pg8000 reads None as "try TLS, else clear text" (libpq's ``prefer``) with a default
    context that parses the whole CA store, False as "never TLS", and a context as "TLS or
    nothing". ``require`` encrypts without verifying (libpq's meaning), so its context
    loads no certificates at all; only the ``verify-*`` modes load the store.
    """
    if sslmode in ("disable", "allow"):
        return False  # no SSLRequest at all (allow: libpq tries clear text first too)
    if sslmode == "prefer":
        return None
    if sslmode == "require":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context()  # verify-full (and any mode we do not know)
    if sslmode == "verify-ca":
        context.check_hostname = False  # the chain is verified, not the host name
    return context


class PostgresDatabase(Transactions):
    dialect = "postgresql"

    def __init__(
        self, settings: PostgresSettings, refresh: Callable[[], PostgresSettings] | None = None
    ) -> None:
        super().__init__()
        self.settings = settings
        self._refresh = refresh
        self.statements = 0
        self._conn: pg8000.native.Connection | None = None

    def _connect(self) -> pg8000.native.Connection:
        """Open a connection; refused credentials are read again once (secret rotation)."""
        try:
            return self._open()
        except AuthenticationFailed:
            if self._refresh is None:
                raise
            logs.warning("database refused the credentials; reading them again")
            self.settings = self._refresh()
            return self._open()

    def _open(self) -> pg8000.native.Connection:
        s = self.settings
        statement_ms = int(config.db_statement_timeout_seconds() * 1000)
        connect_s = config.db_connect_timeout_seconds()
        try:
            conn = pg8000.native.Connection(
                s.user,
                host=s.host,  # the TLS server name
                # Nagle off, as libpq: pg8000 leaves it on, and its startup message, sent
                # right after the TLS handshake, then waited ~40 ms on every new connection.
                sock=tcp.connect((s.host, s.port), connect_s, keepalive=True),
                database=s.database,
                password=_password(s),
                ssl_context=_ssl_context(s.sslmode),
                timeout=connect_s,
                application_name="textfiles",
                # The server cancels a long statement itself (a clean error, nothing
                # ambiguous) and ends a session left idle inside a transaction (a frozen
                # or killed function must not hold a tenant's lock).
                startup_params={
                    "statement_timeout": str(statement_ms),
                    "idle_in_transaction_session_timeout": str(2 * statement_ms + 1000),
                },
            )
        except DatabaseError as exc:
            code = _code(exc)
            if code in _AUTH_CODES:
                raise AuthenticationFailed("database", code) from exc
            raise BackendUnavailable("database", code) from exc
        except (InterfaceError, OSError) as exc:
            raise BackendUnavailable("database", type(exc).__name__) from exc
        # Past the handshake, a reply may take as long as a statement may run (plus a second,
        # so that the server's own cancel arrives first).
        conn._usock.settimeout(statement_ms / 1000 + 1)
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # the socket may already be gone
                conn.close()

    def _run(self, sql: str, params: dict[str, Any], count: bool = True) -> Any:
        """Run one statement. Only what cannot have taken effect twice is run again on a fresh
        connection: a read or a START TRANSACTION outside a transaction. A write whose reply was
        lost is never re-sent (it may have run): the caller sees BackendUnavailable, or
        OutcomeUnknown for a COMMIT."""
        if self._conn is not None and not self._depth and _closed_by_server(self._conn):
            self._drop()  # nothing was sent on it yet: reopening is safe for any statement
        attempts = 2 if not self._depth and _rerunnable(sql) else 1
        for attempt in range(attempts):
            if self._conn is None:
                self._conn = self._connect()
            session = _session(self._conn)
            try:
                self.statements += count
                return self._conn.run(sql, **params)
            except DatabaseError as exc:
                code = _code(exc)
                if code in _INTEGRITY_CODES:
                    raise IntegrityError(code) from exc
                if not code.startswith(_LOST_CODES):
                    if code.startswith(_RETRY_LATER_CODES):
                        raise BackendUnavailable("database", code) from exc
                    raise
                failure = code
            except (InterfaceError, OSError) as exc:
                failure = type(exc).__name__
            self._drop()
            logs.warning("database connection dropped", error=failure)
            if _is_commit(sql):
                raise OutcomeUnknown(failure, session)
            if attempt + 1 == attempts:
                raise BackendUnavailable("database", failure)
        raise AssertionError("unreachable")

    def query(self, sql: str, **params: Any) -> list[Row]:
        with self._lock:
            rows = self._run(sql, params)
            assert self._conn is not None
            names = [c["name"] for c in self._conn.columns or []]
            return [dict(zip(names, row, strict=True)) for row in rows or []]

    def execute(self, sql: str, **params: Any) -> int:
        with self._lock:
            self._run(sql, params)
            assert self._conn is not None
            return int(self._conn.row_count)

    def _begin(self) -> None:
        self._run("START TRANSACTION", {}, count=False)

    def _commit(self) -> None:
        self._run("COMMIT", {}, count=False)

    def _rollback(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.run("ROLLBACK")
        except Exception:  # noqa: BLE001 - a broken connection rolls back by itself
            self._drop()

    @contextlib.contextmanager
    def unbounded(self) -> Iterator[None]:
        """No server statement timeout and no socket timeout in the block (one connection,
        held); both as before after it."""
        with self._lock:
            self._run("SET statement_timeout = 0", {}, count=False)
            assert self._conn is not None
            sock = self._conn._usock
            previous = sock.gettimeout()
            sock.settimeout(None)
            try:
                yield
            finally:
                if self._conn is not None and self._conn._usock is sock:
                    sock.settimeout(previous)
                    self._run("RESET statement_timeout", {}, count=False)

    def settle(self, outcome: OutcomeUnknown) -> bool:
        """The COMMIT's server session is done with it once it has exited or sits idle
        (waiting for a next command that will never come): its transaction is then
        committed or rolled back for good, and a read tells which."""
        if outcome.session is None:
            return False
        deadline = time.monotonic() + _SETTLE_S
        while True:
            rows = self.query(SQL_SESSION_STATE, pid=outcome.session)
            if not rows or rows[0]["state"] == "idle":
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def close(self) -> None:
        with self._lock:
            self._drop()


def _password(s: PostgresSettings) -> str | None:
    """The settings' password, or a fresh IAM token (RDS Proxy): one per connection, as a
    token is good for 15 minutes."""
    if not s.iam_region:
        return s.password or None
    from chalicelib.aws import rds_token

    return rds_token.auth_token(s.host, s.port, s.user, s.iam_region, rds_token.credentials())


def _rerunnable(sql: str) -> bool:
    """A statement that has no effect, so running it again cannot do anything twice."""
    head = " ".join(sql.split(None, 2)[:2]).upper()
    return head.startswith("SELECT") or head == "START TRANSACTION"


def _is_commit(sql: str) -> bool:
    return sql.strip().upper() == "COMMIT"


def _closed_by_server(conn: pg8000.native.Connection) -> bool:
    """An idle connection with something to read has been closed (or is being closed) by the
    server: an idle session receives nothing else. Checked without sending anything."""
    sock = getattr(conn, "_usock", None)
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _session(conn: pg8000.native.Connection) -> int | None:
    """The server process id of a connection (from its BackendKeyData message)."""
    data = getattr(conn, "_backend_key_data", None)
    if not data or len(data) < 4:
        return None
    pid: int = struct.unpack("!i", bytes(data[:4]))[0]
    return pid


def _code(exc: DatabaseError) -> str:
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    return str(info.get("C", ""))
