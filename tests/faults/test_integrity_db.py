"""Writes under database faults, on real PostgreSQL behind a fault-injecting proxy.

The proxy lets a chosen statement run on the server and then swallows its reply (the
client cannot tell whether it happened), or holds a reply back past the client's timeout.
Whatever the outcome, a 2xx means the data is there, and the object a row points at
exists in the bucket.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pg8000.native
import pytest

from conftest import reset_drivers
from support.api import Api
from support.faults import PG_EXECUTE, FaultProxy
from support.net import HOST
from support.postgres import PostgresServer


@pytest.fixture
def pg_proxy(postgres: PostgresServer, fault_proxy: Any) -> FaultProxy:
    proxy: FaultProxy = fault_proxy((HOST, postgres.port or 0))
    return proxy


@pytest.fixture(params=["real"])
def backend(
    request: pytest.FixtureRequest,
    embedded_env: Any,
    monkeypatch: pytest.MonkeyPatch,
    postgres: PostgresServer,
    pg_proxy: FaultProxy,
) -> str:
    """Real backends, the database reached through the proxy; bodies read from storage."""
    settings: dict[str, str] = request.getfixturevalue("real_settings")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    direct = f"{HOST}:{postgres.port}/"
    monkeypatch.setenv(
        "DATABASE_URL", settings["DATABASE_URL"].replace(direct, f"{HOST}:{pg_proxy.port}/")
    )
    monkeypatch.setenv("CACHE_BODY_MAX_BYTES", "0")
    reset_drivers()
    return "real"


@pytest.fixture
def direct(real_settings: dict[str, str]) -> Iterator[pg8000.native.Connection]:
    """A connection of the test's own, around the proxy: what is really committed."""
    from chalicelib.db import postgres_settings

    s = postgres_settings(real_settings["DATABASE_URL"])
    conn = pg8000.native.Connection(s.user, host=s.host, port=s.port, database=s.database)
    yield conn
    conn.close()


def blob_key(direct: pg8000.native.Connection, file_id: str) -> str:
    rows = direct.run("SELECT blob_key FROM files WHERE id = :id", id=file_id)
    assert rows, f"no row for {file_id}"
    key: str = rows[0][0]
    return key


def stored(key: str) -> bytes | None:
    from chalicelib.blobs import BlobMissing, blobs

    try:
        return blobs().get(key)
    except BlobMissing:
        return None


def read_fresh(api: Api, file_id: str) -> Any:
    """GET as a later request would, once the cached metadata has expired."""
    from chalicelib.cache import cache
    from chalicelib.files import writes

    cache().delete_many([writes.meta_key(file_id), writes.body_key(file_id)])
    return api.get(f"/files/{file_id}")


# --- item 3: a COMMIT whose reply is lost ----------------------------------------------------


def test_put_whose_commit_reply_is_lost_answers_200_and_the_file_reads_back(
    api: Api, pg_proxy: FaultProxy, direct: pg8000.native.Connection
) -> None:
    meta = api.created("lost-reply.txt", "old body")
    old_key = blob_key(direct, meta["id"])
    dropped = pg_proxy.drop_reply_after(b"COMMIT")

    reply = api.put(meta["id"], "new body")

    assert dropped.is_set(), "the COMMIT's reply was not dropped"
    assert reply.status == 200, reply.body
    assert reply.json["version"] == 2
    key = blob_key(direct, meta["id"])
    assert key != old_key
    assert stored(key) == b"new body"  # the row's object exists
    assert stored(old_key) == b"old body"  # kept as version 1 (docs/history.md)
    assert direct.run(
        "SELECT version FROM file_versions WHERE blob_key = :k AND superseded_us IS NOT NULL",
        k=old_key,
    ) == [[1]]
    got = read_fresh(api, meta["id"])
    assert (got.status, got.text) == (200, "new body")


def test_create_whose_commit_reply_is_lost_answers_201_and_the_file_reads_back(
    api: Api, pg_proxy: FaultProxy, direct: pg8000.native.Connection
) -> None:
    dropped = pg_proxy.drop_reply_after(b"COMMIT")
    reply = api.create("lost-create.txt", "created anyway")
    assert dropped.is_set()
    assert reply.status == 201, reply.body
    file_id = reply.json["id"]
    assert stored(blob_key(direct, file_id)) == b"created anyway"
    got = read_fresh(api, file_id)
    assert (got.status, got.text) == (200, "created anyway")


def test_a_commit_slower_than_the_statement_timeout_is_resolved_not_undone(
    api: Api,
    pg_proxy: FaultProxy,
    direct: pg8000.native.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT_SECONDS", "1")
    reset_drivers()
    meta = api.created("slow-commit.txt", "old body")
    held = pg_proxy.delay_reply_after(b"COMMIT", 6.0)
    started = time.monotonic()
    reply = api.put(meta["id"], "new body")
    assert time.monotonic() - started < 5, "the client waited for the held reply"
    assert reply.status == 200, reply.body
    assert stored(blob_key(direct, meta["id"])) == b"new body"
    assert read_fresh(api, meta["id"]).text == "new body"
    assert not held.is_set()  # answered before the server's reply would have come


def test_a_put_whose_outcome_cannot_be_read_leaves_the_new_body_in_place(
    api: Api, pg_proxy: FaultProxy, direct: pg8000.native.Connection
) -> None:
    meta = api.created("unknown.txt", "old body")
    pg_proxy.drop_reply_after(b"COMMIT")
    # The reads that would settle the outcome fail too (the first, and its one re-run).
    unreadable = pg_proxy.drop_reply_after(b"pg_stat_activity", times=2)

    reply = api.put(meta["id"], "new body")

    assert unreadable.is_set()
    assert reply.status == 503, reply.body
    assert int(reply.headers["Retry-After"]) > 0
    # It did commit: the row points at the new body, which nobody deleted.
    assert stored(blob_key(direct, meta["id"])) == b"new body"
    assert read_fresh(api, meta["id"]).text == "new body"


def test_a_transaction_broken_before_commit_removes_only_the_new_body(
    api: Api, pg_proxy: FaultProxy, direct: pg8000.native.Connection
) -> None:
    from chalicelib.blobs import blobs

    meta = api.created("rolled-back.txt", "old body")
    old_key = blob_key(direct, meta["id"])
    pg_proxy.drop_reply_after(b"UPDATE files SET size", then=PG_EXECUTE)
    reply = api.put(meta["id"], "new body")
    assert reply.status == 503, reply.body
    assert blob_key(direct, meta["id"]) == old_key
    prefix = old_key.rsplit("/", 1)[0] + "/"
    assert [b.key for b in blobs().list(prefix)] == [old_key]
    assert read_fresh(api, meta["id"]).text == "old body"


def test_a_delete_whose_commit_reply_is_lost_answers_204(
    api: Api, pg_proxy: FaultProxy, direct: pg8000.native.Connection
) -> None:
    meta = api.created("gone.txt", "bye")
    key = blob_key(direct, meta["id"])
    pg_proxy.drop_reply_after(b"COMMIT")
    assert api.delete(meta["id"]).status == 204
    assert direct.run("SELECT id FROM files WHERE id = :id", id=meta["id"]) == []
    assert direct.run("SELECT file_id FROM trash WHERE file_id = :id", id=meta["id"])
    assert direct.run("SELECT version FROM file_versions WHERE blob_key = :k", k=key) == [[1]]
    assert api.get(f"/files/{meta['id']}").status == 404


# --- statement timeouts are their own setting -----------------------------------------------


def test_a_statement_is_bounded_by_the_statement_timeout_not_the_connect_timeout(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.db import database
    from chalicelib.errors import BackendUnavailable

    monkeypatch.setenv("DB_CONNECT_TIMEOUT_SECONDS", "5")
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT_SECONDS", "1")
    reset_drivers()
    db = database()
    started = time.monotonic()
    with pytest.raises(BackendUnavailable):
        db.query("SELECT pg_sleep(3)")
    assert time.monotonic() - started < 2.5
    assert db.query("SELECT 1 AS one") == [{"one": 1}]  # the connection is still good

    monkeypatch.setenv("DB_CONNECT_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT_SECONDS", "5")
    reset_drivers()
    assert database().query("SELECT pg_sleep(1.5) AS slept") == [{"slept": ""}]


# --- item 8: non-idempotent statements are never re-run blindly -----------------------------


def test_a_lost_reply_to_the_claim_does_not_leave_the_task_running(
    backend: str, pg_proxy: FaultProxy
) -> None:
    from chalicelib import tasks
    from chalicelib.queue import queue

    def once(ctx: tasks.TaskContext) -> tasks.Step:
        return tasks.Step({}, 1, 1, "done", {"ok": True})

    tasks.register("test-once", tasks.Kind(step=once))
    dropped = pg_proxy.drop_reply_after(b"SET state = 'running'", then=PG_EXECUTE)
    created = tasks.create(None, "test-once")
    inline: Any = queue()
    assert inline.drain(20)
    assert dropped.is_set(), "the claim's reply was not dropped"
    task = tasks.get(created.id)
    assert task is not None and task.state == "succeeded", task
    assert inline.dead_letters == []


def test_an_export_whose_commit_reply_is_lost_answers_202_once(
    api: Api, pg_proxy: FaultProxy
) -> None:
    from chalicelib.queue import queue

    api.created("one.txt", "1")
    dropped = pg_proxy.drop_reply_after(b"COMMIT")
    reply = api.call("POST", "/exports")
    assert dropped.is_set()
    assert reply.status == 202, reply.body
    inline: Any = queue()
    assert inline.drain(30)
    assert api.get(f"/tasks/{reply.json['id']}").json["state"] == "succeeded"


def test_a_lost_reply_to_an_upload_reservation_is_503_not_500(
    api: Api, pg_proxy: FaultProxy
) -> None:
    dropped = pg_proxy.drop_reply_after(b"INSERT INTO uploads", then=PG_EXECUTE)
    reply = api.call("POST", "/files/uploads?name=big.txt&size=3")
    assert dropped.is_set()
    assert reply.status == 503, reply.body
    assert "Retry-After" in reply.headers
    assert api.call("POST", "/files/uploads?name=big.txt&size=3").status == 201


def test_an_idle_connection_closed_by_the_server_is_reopened_before_a_write(
    api: Api, pg_proxy: FaultProxy, direct: pg8000.native.Connection
) -> None:
    meta = api.created("idle.txt", "one")
    pg_proxy.cut()  # every open connection is closed, as a restarted server would
    pg_proxy.restore()
    time.sleep(0.1)
    assert api.put(meta["id"], "two").status == 200
    assert read_fresh(api, meta["id"]).text == "two"


# --- connections at peak ----------------------------------------------------------------------


def test_a_connection_refused_for_too_many_connections_is_a_503(
    api: Api,
    postgres: PostgresServer,
    real_settings: dict[str, str],
    direct: pg8000.native.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    role = f"limited_{uuid.uuid4().hex[:8]}"
    direct.run(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 1")
    direct.run(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
    database = real_settings["DATABASE_URL"].rsplit("/", 1)[1]
    holder = pg8000.native.Connection(role, host=HOST, port=postgres.port, database=database)
    try:
        url = f"postgresql://{role}@{HOST}:{postgres.port}/{database}"
        monkeypatch.setenv("DATABASE_URL", url)
        reset_drivers()
        reply = api.get("/files")
        assert reply.status == 503, reply.body
        assert int(reply.headers["Retry-After"]) > 0
    finally:
        holder.close()
    assert api.get("/files").status == 200  # a slot is free again: the next call connects
    reset_drivers()
    direct.run(f"DROP OWNED BY {role}")
    direct.run(f"DROP ROLE {role}")


def test_an_idle_tls_connection_is_reused_not_reopened(
    backend: str, fault_proxy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check for a connection the server closed must not mistake TLS traffic for it."""
    from chalicelib.db import database

    server = PostgresServer(tls_only=True)
    server.start()
    try:
        url = server.create_database("tls_reuse")
        proxy: FaultProxy = fault_proxy((HOST, server.port or 0))
        monkeypatch.setenv("DATABASE_URL", url.replace(f":{server.port}/", f":{proxy.port}/"))
        reset_drivers()
        db = database()
        for _ in range(5):
            assert db.query("SELECT 1 AS one") == [{"one": 1}]
            with db.transaction():
                db.execute("SELECT 1")
            time.sleep(0.05)
        assert proxy.connections == 1
        reset_drivers()
    finally:
        server.stop()
