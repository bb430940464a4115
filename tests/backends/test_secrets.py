"""Runtime secrets: Secrets Manager (moto's server) by ARN, the environment locally."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import secrets
from chalicelib.config import MissingSetting
from conftest import moto_client, reset_drivers
from support.moto import AWS_ENV, MotoServer
from support.net import ServerUnavailable, unavailable
from support.postgres import PostgresServer

ARN_SETTINGS = [s.arn_setting for s in (secrets.DATABASE, secrets.ALERT_API_KEY)] + [
    secrets.HEALTHCHECK_API_KEY.arn_setting
]


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in [*ARN_SETTINGS, "DATABASE_URL", "ALERT_API_KEY", "AWS_LAMBDA_FUNCTION_NAME"]:
        monkeypatch.delenv(name, raising=False)
    secrets.store.cache_clear()
    yield monkeypatch
    secrets.store.cache_clear()
    reset_drivers()


@pytest.fixture
def sm(moto: MotoServer, clean: pytest.MonkeyPatch) -> Any:
    """A Secrets Manager client on moto, with the app's boto3 pointed at it."""
    for name, value in {**AWS_ENV, "AWS_ENDPOINT_URL": moto.endpoint}.items():
        clean.setenv(name, value)
    reset_drivers()
    return moto_client("secretsmanager", moto.endpoint)


def _create(sm: Any, name: str, value: str) -> str:
    import uuid

    arn: str = sm.create_secret(Name=f"{name}-{uuid.uuid4().hex[:8]}", SecretString=value)["ARN"]
    return arn


def test_local_stand_in_is_the_environment(clean: pytest.MonkeyPatch) -> None:
    clean.setenv("ALERT_API_KEY", "local-key")
    assert secrets.value(secrets.ALERT_API_KEY) == "local-key"
    assert secrets.value(secrets.HEALTHCHECK_API_KEY) == ""
    assert secrets.store(False).name == "env"


def test_inside_lambda_a_secret_needs_its_arn(clean: pytest.MonkeyPatch) -> None:
    clean.setenv("AWS_LAMBDA_FUNCTION_NAME", "textfiles-prod")
    clean.setenv("ALERT_API_KEY", "never-read-in-lambda")
    with pytest.raises(MissingSetting, match="ALERT_API_KEY_SECRET_ARN"):
        secrets.value(secrets.ALERT_API_KEY)


def test_fetched_by_arn_and_cached_until_the_ttl(sm: Any, clean: pytest.MonkeyPatch) -> None:
    arn = _create(sm, "alert-key", "first")
    clean.setenv("ALERT_API_KEY_SECRET_ARN", arn)
    clean.setenv("ALERT_API_KEY", "ignored when an ARN is set")
    assert secrets.value(secrets.ALERT_API_KEY) == "first"
    sm.put_secret_value(SecretId=arn, SecretString="rotated")
    store = secrets.store(True)
    assert secrets.value(secrets.ALERT_API_KEY) == "first"  # cached: one fetch only
    assert store.fetches == 1  # type: ignore[attr-defined]
    assert secrets.value(secrets.ALERT_API_KEY, fresh=True) == "rotated"
    assert store.fetches == 2  # type: ignore[attr-defined]
    store.ttl_s = 0  # type: ignore[attr-defined]
    secrets.value(secrets.ALERT_API_KEY)
    assert store.fetches == 3  # type: ignore[attr-defined]


def test_the_database_url_comes_from_the_rds_secret(sm: Any, clean: pytest.MonkeyPatch) -> None:
    value = {
        "username": "textfiles",
        "password": "p@ss/w:rd",
        "host": "db.internal",
        "port": 5432,
        "dbname": "textfiles",
        "engine": "postgres",
    }
    clean.setenv("DATABASE_SECRET_ARN", _create(sm, "db", json.dumps(value)))
    from chalicelib.db import connection_settings

    settings = connection_settings()
    assert settings is not None
    assert (settings.user, settings.password, settings.host) == (
        "textfiles",
        "p@ss/w:rd",
        "db.internal",
    )
    assert (settings.port, settings.database, settings.sslmode) == (5432, "textfiles", "require")


def test_a_missing_secret_is_a_backend_outage(sm: Any, clean: pytest.MonkeyPatch) -> None:
    from chalicelib.errors import BackendUnavailable

    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf"
    clean.setenv("ALERT_API_KEY_SECRET_ARN", arn)
    with pytest.raises(BackendUnavailable) as caught:
        secrets.value(secrets.ALERT_API_KEY)
    assert caught.value.detail == "ResourceNotFoundException"


def test_an_unreadable_database_secret_is_the_callers_outage(
    sm: Any, clean: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The database secret is read in a thread while the driver loads: its failure reaches
    the caller as the 503 cause, and its log line keeps the request's fields."""
    from chalicelib import logs
    from chalicelib.db import database
    from chalicelib.errors import BackendUnavailable

    clean.setenv(
        "DATABASE_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
    )
    reset_drivers()
    logs.reset(request_id="req-secret-7")
    try:
        with pytest.raises(BackendUnavailable) as caught:
            database()
    finally:
        logs.reset()
    assert caught.value.detail == "ResourceNotFoundException"
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    found = [line for line in lines if line["message"] == "secret unavailable"]
    assert found and found[0]["request_id"] == "req-secret-7"


@pytest.fixture
def password_postgres() -> Iterator[tuple[PostgresServer, str]]:
    """A PostgreSQL of this test's own where the role `app` must give its password."""
    import pg8000.native

    server = PostgresServer()
    try:
        server.start()
    except ServerUnavailable as exc:
        unavailable("PostgreSQL", str(exc))
    admin = pg8000.native.Connection("postgres", host="127.0.0.1", port=server.port)
    admin.run("CREATE ROLE app LOGIN PASSWORD 'old'")
    admin.run("CREATE DATABASE appdb OWNER app")
    hba = server.data_dir / "pg_hba.conf"
    hba.write_text("host all app 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    admin.run("SELECT pg_reload_conf()")
    admin.close()
    yield server, "appdb"
    server.stop()


def _rds_secret(server: PostgresServer, database: str, password: str) -> str:
    return json.dumps(
        {
            "username": "app",
            "password": password,
            "host": "127.0.0.1",
            "port": server.port,
            "dbname": database,
            "sslmode": "disable",
        }
    )


def test_rotated_database_password_is_read_again_once(
    sm: Any, clean: pytest.MonkeyPatch, password_postgres: tuple[PostgresServer, str]
) -> None:
    """Rotation against a real PostgreSQL and moto's Secrets Manager: the cached password
    is refused, the secret is read again once, and the new password works."""
    import pg8000.native

    from chalicelib.db import database
    from chalicelib.db.postgres import AuthenticationFailed

    server, name = password_postgres
    arn = _create(sm, "textfiles/test/db-rotation", _rds_secret(server, name, "old"))
    clean.setenv("DATABASE_SECRET_ARN", arn)
    clean.setenv("SECRETS_TTL_SECONDS", "3600")
    reset_drivers()
    db = database()
    assert db.query("SELECT current_user AS u")[0]["u"] == "app"

    admin = pg8000.native.Connection("postgres", host="127.0.0.1", port=server.port)
    admin.run("ALTER ROLE app PASSWORD 'new'")
    sm.put_secret_value(SecretId=arn, SecretString=_rds_secret(server, name, "new"))
    admin.run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app'")
    assert db.query("SELECT current_user AS u")[0]["u"] == "app"  # reconnected, new password

    admin.run("ALTER ROLE app PASSWORD 'newer'")  # changed, but the secret was not updated
    admin.run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app'")
    admin.close()
    with pytest.raises(AuthenticationFailed):
        db.query("SELECT 1 AS one")
