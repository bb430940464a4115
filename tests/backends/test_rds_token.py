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
