"""The IAM database authentication token we sign is botocore's `generate_db_auth_token`,
character for character, for fixed credentials and a fixed time (botocore's clock patched)."""

from __future__ import annotations

import datetime
from typing import Any

import botocore.auth
import botocore.session
import pytest

from chalicelib.aws import rds_token

NOW = datetime.datetime(2026, 12, 7, 14, 40, 5, tzinfo=datetime.UTC)
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def _botocore(host: str, port: int, user: str, region: str, token: str | None) -> str:
    session = botocore.session.Session()
    session.set_credentials("AKIDEXAMPLE", SECRET, token)
    client = session.create_client("rds", region_name=region)
    return str(client.generate_db_auth_token(host, port, user, Region=region))


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzEJr//////////wEaDP+tok/en=="])
@pytest.mark.parametrize(
    "host, port, user, region",
    [
        (
            "textfiles-prod.proxy-abc123.eu-central-1.rds.amazonaws.com",
            5432,
            "textfiles_app",
            "eu-central-1",
        ),
        ("db.example.internal", 6543, "user+with/odd=chars", "us-east-1"),
    ],
)
def test_the_token_is_botocores(
    monkeypatch: pytest.MonkeyPatch,
    host: str,
    port: int,
    user: str,
    region: str,
    token: str | None,
) -> None:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: NOW.replace(tzinfo=None))
    ours = rds_token.auth_token(
        host, port, user, region, ("AKIDEXAMPLE", SECRET, token), now_s=NOW.timestamp()
    )
    assert ours == _botocore(host, port, user, region, token)
    assert ours.startswith(f"{host}:{port}/?Action=connect&DBUser=")
    assert "X-Amz-Expires=900" in ours


PROXY = "textfiles-prod.proxy-abc123.eu-central-1.rds.amazonaws.com"


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_PROXY_ENDPOINT", PROXY)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token")
    # A secret that cannot be read: behind the proxy, nothing reads it.
    monkeypatch.setenv("DATABASE_SECRET_ARN", "arn:aws:secretsmanager:eu-central-1:1:secret:x")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:password@elsewhere/db")


def test_behind_the_proxy_the_settings_use_iam_and_tls(proxy_env: None) -> None:
    from chalicelib.db import connection_settings

    settings = connection_settings()
    assert settings is not None
    assert (settings.host, settings.port, settings.user, settings.database) == (
        PROXY,
        5432,
        "textfiles_app",
        "textfiles",
    )
    assert (settings.sslmode, settings.iam_region, settings.password) == (
        "require",
        "eu-central-1",
        "",
    )


def test_each_connection_logs_in_with_a_fresh_token(
    proxy_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver hands pg8000 a token as the password, over TLS (verified when asked)."""
    import ssl

    import pg8000.native

    from chalicelib import tcp
    from chalicelib.db import connection_settings
    from chalicelib.db.postgres import PostgresDatabase

    seen: dict[str, Any] = {}

    class Refused(Exception):
        pass

    def connection(user: str, **kwargs: Any) -> Any:
        seen.update(kwargs, user=user)
        raise Refused

    monkeypatch.setattr(pg8000.native, "Connection", connection)
    monkeypatch.setenv("DATABASE_SSLMODE", "verify-full")
    monkeypatch.setattr(tcp, "connect", lambda *a, **k: None)
    settings = connection_settings()
    assert settings is not None
    with pytest.raises(Refused):
        PostgresDatabase(settings)._open()
    token = seen["password"]
    assert token.startswith(f"{PROXY}:5432/?Action=connect&DBUser=textfiles_app&")
    assert "X-Amz-Security-Token=session-token" in token
    assert seen["user"] == "textfiles_app" and seen["database"] == "textfiles"
    context = seen["ssl_context"]
    assert isinstance(context, ssl.SSLContext) and context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_without_the_proxy_the_password_path_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.db import connection_settings
    from chalicelib.db.postgres import _password

    monkeypatch.delenv("DATABASE_PROXY_ENDPOINT", raising=False)
    monkeypatch.delenv("DATABASE_SECRET_ARN", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.setenv(
        "DATABASE_URL", "postgresql://u:pa%40ss@db.internal:6432/app?sslmode=require"
    )
    settings = connection_settings()
    assert settings is not None and settings.iam_region == ""
    assert (settings.host, settings.port, _password(settings)) == ("db.internal", 6432, "pa@ss")


class StartupRecorder:
    """A server on 127.0.0.1 that speaks PostgreSQL's startup as RDS Proxy does for IAM
    authentication: it accepts only an SSLRequest first, then over TLS asks for a clear-text
    password (the token), records the startup message and that password, and refuses the
    login (28P01). Whatever a client sends in clear text after the SSLRequest is refused."""

    def __init__(self, tmp: Any) -> None:
        import socket
        import ssl
        import threading

        from support.net import self_signed_cert

        key, cert = tmp / "proxy.key", tmp / "proxy.crt"
        self_signed_cert(key, cert)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.seen: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        import struct

        conn, _ = self.listener.accept()
        with conn:
            conn.settimeout(10)
            first = _read(conn, 8)
            self.seen["ssl_request"] = struct.unpack("!ii", first) == (8, 80877103)
            if not self.seen["ssl_request"]:
                return
            conn.sendall(b"S")
            with self.context.wrap_socket(conn, server_side=True) as tls:
                (length,) = struct.unpack("!i", _read(tls, 4))
                body = _read(tls, length - 4)
                fields = body[4:].rstrip(b"\0").split(b"\0")
                self.seen["startup"] = dict(zip(fields[::2], fields[1::2], strict=True))
                tls.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
                self.seen["reply"], length = struct.unpack("!ci", _read(tls, 5))
                self.seen["password"] = _read(tls, length - 4).rstrip(b"\0").decode()
                error = b"SFATAL\0C28P01\0Mrecorded\0\0"
                tls.sendall(b"E" + struct.pack("!i", len(error) + 4) + error)

    def close(self) -> None:
        self.thread.join(timeout=10)
        self.listener.close()


def _read(sock: Any, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


@pytest.mark.parametrize("asked", ["require", "disable", "prefer"])
def test_the_driver_logs_in_over_tls_with_botocores_token(
    proxy_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, asked: str
) -> None:
    """Through the real driver and pg8000, against a server that records the wire: TLS is
    asked for before anything else (even when DATABASE_SSLMODE says otherwise), and the
    password is botocore's generate_db_auth_token for the same host, port, user, region,
    credentials and second."""
    from chalicelib.db import connection_settings
    from chalicelib.db.postgres import AuthenticationFailed, PostgresDatabase

    server = StartupRecorder(tmp_path)
    monkeypatch.setenv("DATABASE_PROXY_ENDPOINT", f"127.0.0.1:{server.port}")
    monkeypatch.setenv("DATABASE_SSLMODE", asked)
    settings = connection_settings()
    assert settings is not None
    try:
        with pytest.raises(AuthenticationFailed):
            PostgresDatabase(settings)._open()
    finally:
        server.close()
    assert server.seen["ssl_request"] is True
    startup = server.seen["startup"]
    assert (startup[b"user"], startup[b"database"]) == (b"textfiles_app", b"textfiles")
    assert server.seen["reply"] == b"p"  # a PasswordMessage
    token = server.seen["password"]
    signed_at = datetime.datetime.strptime(token.split("X-Amz-Date=", 1)[1][:16], "%Y%m%dT%H%M%SZ")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: signed_at)
    session = botocore.session.Session()
    session.set_credentials("AKIDEXAMPLE", SECRET, "session-token")
    expected = session.create_client("rds", region_name="eu-central-1").generate_db_auth_token(
        "127.0.0.1", server.port, "textfiles_app", Region="eu-central-1"
    )
    assert token == expected
