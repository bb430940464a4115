"""The PostgreSQL driver (pg8000): one connection per process, reopened when it drops."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable
from typing import Any

import pg8000.native
from pg8000.exceptions import DatabaseError, InterfaceError

from chalicelib import logs
from chalicelib.db import IntegrityError, PostgresSettings, Row, Transactions
from chalicelib.errors import BackendUnavailable

_INTEGRITY_CODES = {"23505", "23503", "23502", "23514"}
_AUTH_CODES = {"28P01", "28000"}
CONNECT_TIMEOUT_S = 5


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
        try:
            return pg8000.native.Connection(
                s.user,
                host=s.host,
                port=s.port,
                database=s.database,
                password=s.password or None,
                ssl_context=_ssl_context(s.sslmode),
                timeout=CONNECT_TIMEOUT_S,
                application_name="textfiles",
            )
        except DatabaseError as exc:
            code = _code(exc)
            if code in _AUTH_CODES:
                raise AuthenticationFailed("database", code) from exc
            raise BackendUnavailable("database", code) from exc
        except (InterfaceError, OSError) as exc:
            raise BackendUnavailable("database", type(exc).__name__) from exc

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # the socket may already be gone
                conn.close()

    def _run(self, sql: str, params: dict[str, Any], count: bool = True) -> Any:
        """Run one statement; outside a transaction a dropped connection is reopened once."""
        attempts = 1 if self._depth else 2
        for attempt in range(attempts):
            if self._conn is None:
                self._conn = self._connect()
            try:
                self.statements += count
                return self._conn.run(sql, **params)
            except DatabaseError as exc:
                code = _code(exc)
                if code in _INTEGRITY_CODES:
                    raise IntegrityError(code) from exc
                if code.startswith("08") or code.startswith("57P"):
                    self._drop()
                    if attempt + 1 < attempts:
                        continue
                    raise BackendUnavailable("database", code) from exc
                raise
            except (InterfaceError, OSError) as exc:
                self._drop()
                logs.warning("database connection dropped", error=type(exc).__name__)
                if attempt + 1 < attempts:
                    continue
                raise BackendUnavailable("database", type(exc).__name__) from exc
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

    def close(self) -> None:
        with self._lock:
            self._drop()


def _code(exc: DatabaseError) -> str:
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    return str(info.get("C", ""))
