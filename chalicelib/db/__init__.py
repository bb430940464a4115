"""The database port: SQL with named parameters, run by SQLite or PostgreSQL.

Its types live in chalicelib/db/base.py (the drivers import them from there); each
feature's SQL lives in its own store module (chalicelib/files/store.py, ...).
"""

from __future__ import annotations

import contextvars
import functools
import threading
from urllib.parse import parse_qs, unquote, urlparse

from chalicelib import config, secrets
from chalicelib.db.base import (
    Database,
    IntegrityError,
    OutcomeUnknown,
    PostgresSettings,
    Row,
    Transactions,
)

__all__ = [
    "Database",
    "IntegrityError",
    "OutcomeUnknown",
    "PostgresSettings",
    "Row",
    "Transactions",
    "connection_settings",
    "database",
    "fresh_settings",
    "postgres_settings",
    "proxy_settings",
]


def postgres_settings(url: str) -> PostgresSettings:
    """Connection settings from a `postgresql://user:pass@host:port/db?sslmode=...` URL."""
    parts = urlparse(url)
    query = parse_qs(parts.query)
    return PostgresSettings(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password or ""),
        database=(parts.path or "/postgres").lstrip("/") or "postgres",
        sslmode=query.get("sslmode", ["prefer"])[0],
    )


def proxy_settings() -> PostgresSettings | None:
    """RDS Proxy with IAM authentication, when DATABASE_PROXY_ENDPOINT is set: a token per
    connection, no secret to read; TLS as DATABASE_SSLMODE says (require: encrypted, as the
    proxy demands; verify-full also checks its name, for ~50 ms of CA store at a cold start)."""
    endpoint = config.get("DATABASE_PROXY_ENDPOINT")
    if not endpoint:
        return None
    host, _, port = endpoint.partition(":")
    region = config.get("AWS_REGION") or config.get("AWS_DEFAULT_REGION")
    if not region:
        raise config.MissingSetting("DATABASE_PROXY_ENDPOINT needs AWS_REGION")
    return PostgresSettings(
        host=host,
        port=int(port or 5432),
        user=config.get("DATABASE_IAM_USER"),
        password="",
        database=config.get("DATABASE_NAME"),
        sslmode=_tls_required(config.database_sslmode()),
        iam_region=region,
    )


def _tls_required(sslmode: str) -> str:
    """The token is a password: it never travels in clear text, whatever DATABASE_SSLMODE
    says (the proxy requires TLS anyway). A verifying mode stays as it is."""
    return sslmode if sslmode in ("verify-ca", "verify-full") else "require"


def connection_settings(fresh: bool = False) -> PostgresSettings | None:
    """Where the database is; None means the embedded SQLite file."""
    proxy = proxy_settings()
    if proxy is not None:
        return proxy
    url = secrets.database_url(fresh=fresh)
    return postgres_settings(url) if url else None


def fresh_settings() -> PostgresSettings:
    """The credentials read again, skipping any cached copy (they may have been rotated)."""
    settings = connection_settings(fresh=True)
    if settings is None:
        raise config.MissingSetting("the database is no longer configured")
    return settings


class _Reading(threading.Thread):
    """The connection settings, read in a thread (with the caller's log context)."""

    def __init__(self) -> None:
        super().__init__(name="database-secret", daemon=True)
        self._context = contextvars.copy_context()
        self._settings: PostgresSettings | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._settings = self._context.run(connection_settings)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            self._error = exc

    def settings(self) -> PostgresSettings | None:
        self.join()
        if self._error is not None:
            raise self._error
        return self._settings


def _postgres(settings: PostgresSettings) -> Database:
    from chalicelib.db.postgres import PostgresDatabase

    return PostgresDatabase(settings, refresh=fresh_settings)


def _open() -> Database:
    """With the credentials in Secrets Manager (always PostgreSQL), the secret is read in a
    thread while this one imports the driver (pg8000: about 30 ms of CPU), which hides the
    read's network wait. Its modules are loaded first: the threads never import one module.
    Behind RDS Proxy (IAM tokens) there is no secret to read."""
    proxy = proxy_settings()
    if proxy is not None:
        return _postgres(proxy)
    if secrets.load_reader(secrets.DATABASE):
        reading = _Reading()
        reading.start()
        import chalicelib.db.postgres  # noqa: F401 - the work done meanwhile

        settings = reading.settings()
    else:
        settings = connection_settings()
    if settings is not None:
        return _postgres(settings)
    from chalicelib.db.sqlite import SqliteDatabase

    return SqliteDatabase(config.data_dir() / "textfiles.sqlite3")


def in_list(prefix: str, values: list[str]) -> tuple[str, dict[str, str]]:
    """`(:p0, :p1, ...)` and its parameters: an IN list both dialects accept."""
    params = {f"{prefix}{i}": v for i, v in enumerate(values)}
    return "(" + ", ".join(f":{name}" for name in params) + ")", params


@functools.cache
def database() -> Database:
    db = _open()
    from chalicelib.db.migrations import migrate

    migrate(db)
    return db
