"""PostgreSQL over TLS: each libpq sslmode means what libpq says, against a real server.

The server is a throwaway cluster of this module's own with a self-signed certificate:
database ``tls_only`` refuses clear-text connections, ``postgres`` accepts both.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.db import PostgresSettings
from chalicelib.db.postgres import PostgresDatabase, _ssl_context
from chalicelib.errors import BackendUnavailable
from support.net import HOST, ServerUnavailable, self_signed_cert, unavailable
from support.postgres import PostgresServer

SSL_IN_USE = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


def _owned_by_server(server: PostgresServer, *paths: Any) -> None:
    if os.geteuid() == 0:
        for path in paths:
            shutil.chown(path, "postgres", "postgres")


def enable_tls(server: PostgresServer) -> None:
    """A self-signed certificate, ssl=on, and clear text refused for database tls_only."""
    data = server.data_dir
    try:
        self_signed_cert(data / "server.key", data / "server.crt")
    except ServerUnavailable as exc:
        unavailable("PostgreSQL with TLS", str(exc))
    os.chmod(data / "server.key", 0o600)
    hba = data / "pg_hba.conf"
    hba.write_text("hostnossl tls_only all all reject\n" + hba.read_text())
    _owned_by_server(server, data / "server.key", data / "server.crt")
    import pg8000.native

    conn = pg8000.native.Connection("postgres", host=HOST, port=server.port, ssl_context=False)
    try:
        conn.run("ALTER SYSTEM SET ssl = on")
        conn.run("SELECT pg_reload_conf()")
        conn.run("CREATE DATABASE tls_only")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def tls_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
    except ServerUnavailable as exc:
        unavailable("PostgreSQL", str(exc))
    try:
        enable_tls(server)
        yield server
    finally:
        server.stop()


def _database(server: PostgresServer, name: str, sslmode: str) -> PostgresDatabase:
    assert server.port is not None
    return PostgresDatabase(
        PostgresSettings(
            host=HOST, port=server.port, user="postgres", password="", database=name,
            sslmode=sslmode,
        )
    )  # fmt: skip


def _uses_tls(server: PostgresServer, name: str, sslmode: str) -> bool:
    db = _database(server, name, sslmode)
    try:
        return bool(db.query(SSL_IN_USE)[0]["ssl"])
    finally:
        db.close()


def test_require_encrypts_and_needs_no_certificate_store(tls_server: PostgresServer) -> None:
    assert _uses_tls(tls_server, "tls_only", "require")
    context = _ssl_context("require")
    assert not isinstance(context, bool) and context is not None
    assert context.cert_store_stats()["x509_ca"] == 0, "require must not load the CA store"


def test_disable_never_attempts_tls(tls_server: PostgresServer) -> None:
    """disable means clear text, even where the server offers TLS."""
    assert _uses_tls(tls_server, "postgres", "disable") is False
    assert _uses_tls(tls_server, "postgres", "allow") is False
    with pytest.raises(BackendUnavailable):
        _uses_tls(tls_server, "tls_only", "disable")


def test_prefer_takes_tls_when_offered(tls_server: PostgresServer) -> None:
    assert _uses_tls(tls_server, "postgres", "prefer")


def test_verify_full_checks_the_certificate(tls_server: PostgresServer) -> None:
    """A self-signed certificate is no proof of identity: verify-full refuses it."""
    with pytest.raises(BackendUnavailable):
        _uses_tls(tls_server, "tls_only", "verify-full")
    context = _ssl_context("verify-ca")
    assert not isinstance(context, bool) and context is not None
    assert context.verify_mode.name == "CERT_REQUIRED" and not context.check_hostname


@pytest.mark.parametrize(("name", "sslmode"), [("tls_only", "require"), ("postgres", "disable")])
def test_connection_turns_nagle_off(tls_server: PostgresServer, name: str, sslmode: str) -> None:
    """TCP_NODELAY, as libpq sets it: with Nagle's algorithm on, the startup message that
    follows the TLS handshake waited for the server's delayed ACK (about 40 ms per connect)."""
    db = _database(tls_server, name, sslmode)
    try:
        db.query("SELECT 1 AS one")
        assert db._conn is not None
        sock = db._conn._usock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0
    finally:
        db.close()


def test_connection_refused_is_unavailable(tls_server: PostgresServer) -> None:
    """A port nobody listens on: a clean 503 cause, not a crash."""
    from support.net import free_port

    db = PostgresDatabase(
        PostgresSettings(
            host=HOST, port=free_port(), user="postgres", password="", database="postgres",
            sslmode="require",
        )
    )  # fmt: skip
    with pytest.raises(BackendUnavailable):
        db.query("SELECT 1 AS one")
