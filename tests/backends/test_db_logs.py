"""What the database writes to its log (exported to CloudWatch by the infra stack) never holds a
body or a secret (issue #22, 7): a real PostgreSQL with the log settings of infra/infra.yaml's
parameter group, a statement made slow on purpose, and the admin `migrate` command's password
change failing and then succeeding."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chalice.test import Client

from conftest import LOCAL_STAGE, reset_drivers
from support.api import Api
from support.net import HOST, started
from support.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
APP_ROLE = "textfiles_app"


def infra_log_settings() -> dict[str, str]:
    """The logging parameters of the stack's database (its parameter group)."""
    infra = yaml.safe_load((ROOT / "infra" / "infra.yaml").read_text())
    params = infra["Resources"]["DatabaseParameters"]["Properties"]["Parameters"]
    return {name: str(value) for name, value in params.items() if name.startswith("log_")}


@pytest.fixture
def logged_postgres(embedded_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A PostgreSQL of this test's own, logging as the stack's does; the app's database; the
    application role asked for its password (scram-sha-256) over TCP."""
    server = started(PostgresServer(), "PostgreSQL")
    try:
        assert server.base_dir is not None
        hba = server.data_dir / "pg_hba.conf"
        rule = f"host all {APP_ROLE} {HOST}/32 scram-sha-256\n"
        hba.write_text(rule + hba.read_text())
        conn = server.connect()
        for name, value in infra_log_settings().items():
            conn.run(f"ALTER SYSTEM SET {name} = '{value}'")
        conn.run("SELECT pg_reload_conf()")
        conn.close()
        monkeypatch.setenv("DATABASE_URL", server.create_database("logged"))
        reset_drivers()
        yield server
    finally:
        reset_drivers()
        server.stop()


def server_log(server: PostgresServer) -> str:
    assert server.base_dir is not None
    return (server.base_dir / "log").read_text(errors="replace")


def _hold(server: PostgresServer, sql: str, seconds: float) -> threading.Thread:
    """Run `sql` in a transaction of its own and keep it open `seconds`: what it locks waits."""
    ready = threading.Event()

    def hold() -> None:
        conn = server.connect("logged")
        conn.run("START TRANSACTION")
        conn.run(sql)
        ready.set()
        time.sleep(seconds)
        conn.run("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert ready.wait(10)
    return thread


def test_a_slow_statement_is_logged_without_its_parameters(logged_postgres: PostgresServer) -> None:
    """A slow search-index insert logged its parameters: up to 256 KiB of a file's body."""
    from app import app
    from chalicelib.tenants import apikeys

    marker = f"body-secret-{uuid.uuid4().hex}"
    key = apikeys.create_key("logged")  # the schema is there
    conn = logged_postgres.connect("logged")
    conn.run(  # whatever makes it slow (a busy disk, a lock): 1.2 s in the insert's execution
        "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN PERFORM pg_sleep(1.2); RETURN NEW; END $$"
    )
    conn.run(
        "CREATE TRIGGER slow BEFORE INSERT ON file_search FOR EACH ROW EXECUTE FUNCTION slow()"
    )
    conn.close()
    with Client(app, stage_name=LOCAL_STAGE) as client:
        created = Api(client, key).create("slow.txt", f"words {marker} more words")
    assert created.status == 201, created.body
    log = server_log(logged_postgres)
    slow = [line for line in log.splitlines() if "duration:" in line and "file_search" in line]
    assert slow, "the slow insert was logged (log_min_duration_statement)"
    assert "execute" in slow[0], slow
    assert marker not in log
    assert "parameters:" not in log


def test_a_password_never_reaches_the_log_only_a_scram_verifier(
    logged_postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`admin migrate` sets the application role's password from its secret; a failing (or
    slow) ALTER ROLE logged the statement, password included (log_min_error_statement)."""
    from chalicelib.db import database
    from chalicelib.edge import admin

    password = secrets.token_urlsafe(24)
    assert logged_postgres.port is not None
    url = f"postgresql://{APP_ROLE}:{password}@{HOST}:{logged_postgres.port}/logged"
    monkeypatch.setenv("APP_DATABASE_URL", url)
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT_SECONDS", "1")
    database()  # the schema and the role exist before the role's row is locked
    holder = _hold(logged_postgres, f"ALTER ROLE {APP_ROLE} CONNECTION LIMIT 7", 3)
    assert admin.main(["migrate"]) == 2, "the password change timed out behind the lock"
    holder.join(30)
    assert admin.main(["migrate"]) == 0
    log = server_log(logged_postgres)
    assert "statement timeout" in log and f"ALTER ROLE {APP_ROLE}" in log, "the failure logged"
    assert password not in log
    assert "SCRAM-SHA-256$" in log, "what was sent instead: a verifier"
    import pg8000.native

    login = pg8000.native.Connection(
        APP_ROLE, host=HOST, port=logged_postgres.port, database="logged", password=password
    )
    assert login.run("SELECT current_user") == [[APP_ROLE]]
    login.close()
    with pytest.raises(pg8000.native.DatabaseError):
        pg8000.native.Connection(
            APP_ROLE, host=HOST, port=logged_postgres.port, database="logged", password="wrong"
        )
