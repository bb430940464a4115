"""The production drivers against real servers: what lands where, and outages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pg8000.native
import pytest
from chalice.test import Client
from pymemcache.client.base import Client as MemcacheClient

from conftest import LOCAL_STAGE, moto_client, reset_drivers
from support.api import Api
from support.memcached import MemcachedServer
from support.net import ServerUnavailable, free_port, unavailable
from support.postgres import PostgresServer


def _s3(settings: dict[str, str]) -> Any:
    return moto_client("s3", settings["AWS_ENDPOINT_URL"])


def _rows(url: str, sql: str, **params: Any) -> list[list[Any]]:
    from chalicelib.db import postgres_settings

    s = postgres_settings(url)
    conn = pg8000.native.Connection(s.user, host=s.host, port=s.port, database=s.database)
    try:
        return list(conn.run(sql, **params))
    finally:
        conn.close()


@pytest.fixture
def real(backend: str, real_settings: dict[str, str]) -> dict[str, str]:
    return real_settings


@pytest.fixture(params=["real"])
def backend(
    request: pytest.FixtureRequest, embedded_env: Any, monkeypatch: pytest.MonkeyPatch
) -> str:
    """This module runs on the real backends only."""
    settings: dict[str, str] = request.getfixturevalue("real_settings")
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    reset_drivers()
    return "real"


def test_writes_land_in_postgres_s3_and_memcached(
    api: Api, real: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GARBAGE_GRACE_SECONDS", "0")  # old bodies collected by the next write
    meta = api.created("land.txt", "stored for real")
    rows = _rows(
        real["DATABASE_URL"],
        "SELECT tenant_id, name, size, sha256, blob_key FROM files WHERE id = :id",
        id=meta["id"],
    )
    assert len(rows) == 1
    tenant, name, size, sha, blob_key = rows[0]
    assert (name, size, sha) == ("land.txt", 15, meta["sha256"])
    assert blob_key.startswith(f"tenants/{tenant}/files/{meta['id']}/")
    body = _s3(real).get_object(Bucket=real["FILES_BUCKET"], Key=blob_key)["Body"].read()
    assert body == b"stored for real"
    host, port = real["MEMCACHED_SERVERS"].split(":")
    mc = MemcacheClient((host, int(port)))
    cached = json.loads(mc.get(f"tf:m:{meta['id']}"))
    assert cached["blob_key"] == blob_key
    assert mc.get(f"tf:b:{meta['id']}") == meta["sha256"].encode() + b"stored for real"
    stored_keys = _rows(real["DATABASE_URL"], "SELECT key_hash FROM api_keys")
    assert all(len(k[0]) == 64 and k[0] != api.key for k in stored_keys)

    replaced = api.put(meta["id"], "second body").json
    new_key = _rows(
        real["DATABASE_URL"], "SELECT blob_key FROM files WHERE id = :id", id=meta["id"]
    )[0][0]
    listed = _s3(real).list_objects_v2(Bucket=real["FILES_BUCKET"], Prefix=f"tenants/{tenant}/")
    assert new_key in [o["Key"] for o in listed.get("Contents", [])]  # and version 1's body
    assert len(listed["Contents"]) == 2
    assert replaced["version"] == 2

    assert api.delete(meta["id"]).status == 204  # to the trash: the tombstone of version 2
    assert _rows(real["DATABASE_URL"], "SELECT id FROM files WHERE id = :id", id=meta["id"]) == []
    assert mc.get(f"tf:m:{meta['id']}") == b"-2"
    assert api.call("DELETE", f"/trash/{meta['id']}").status == 204  # for good
    listed = _s3(real).list_objects_v2(Bucket=real["FILES_BUCKET"], Prefix=f"tenants/{tenant}/")
    assert listed.get("Contents", []) == []


def test_a_cached_read_is_one_cache_round_trip_and_no_sql(api: Api, real: dict[str, str]) -> None:
    from chalicelib.cache import cache
    from chalicelib.db import database

    meta = api.created("hot.txt", "hot")
    api.get(f"/files/{meta['id']}")
    trips, statements = cache().round_trips, database().statements
    assert api.get(f"/files/{meta['id']}").text == "hot"
    # key, metadata and body read, and the rate counter incremented, in one pipelined trip
    assert cache().round_trips - trips == 1
    assert database().statements - statements == 0
    hits = cache().hits
    api.get(f"/files/{meta['id']}")
    # key, metadata and body all hit (the address's failed-key counter may or may not exist)
    assert cache().hits - hits >= 3


def test_a_malformed_id_is_404_without_touching_the_cache(api: Api, real: dict[str, str]) -> None:
    from chalicelib.cache import cache

    meta = api.created("ok.txt", "fine")
    errors = cache().errors
    for bad in ("a%20b", "x" * 300, "%0Aflush_all", meta["id"].upper()):
        assert api.get(f"/files/{bad}").status == 404
        assert api.get(f"/files/{bad}/metadata").status == 404
    assert cache().errors == errors, "no cache command was refused or failed"
    assert api.get(f"/files/{meta['id']}").text == "fine"


# --- outages ---------------------------------------------------------------------


def test_memcached_killed_mid_use_is_invisible(
    own_memcached: MemcachedServer, api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib import logs

    meta = api.created("survivor.txt", "v1")
    assert api.get(f"/files/{meta['id']}").text == "v1"
    own_memcached.kill()
    logs._last_warning.clear()
    assert api.get(f"/files/{meta['id']}").text == "v1"
    assert api.put(meta["id"], "v2").status == 200
    assert api.get(f"/files/{meta['id']}").text == "v2"
    second = api.created("during-outage.txt", "x")
    assert {m["name"] for m in api.get("/files").json["items"]} == {
        "survivor.txt",
        "during-outage.txt",
    }
    health = api.client.http.get("/health")
    assert health.status_code == 503
    assert json.loads(health.body)["checks"]["cache"]["status"] == "unavailable"
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert any(x["message"] == "cache unavailable, bypassed" for x in lines)

    own_memcached.restart()
    reset_drivers()
    assert api.get(f"/files/{meta['id']}").text == "v2"
    assert api.get(f"/files/{second['id']}").text == "x"
    assert api.client.http.get("/health").status_code == 200


@pytest.fixture
def own_postgres(real: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
    except ServerUnavailable as exc:
        unavailable("PostgreSQL", str(exc))
    monkeypatch.setenv("DATABASE_URL", server.create_database("outage"))
    reset_drivers()
    yield server
    server.stop()


def test_postgres_down_is_503_then_recovers_with_nothing_lost(
    own_postgres: PostgresServer, real: dict[str, str], api: Api
) -> None:
    kept = api.created("kept.txt", "durable")
    listed = _s3(real).list_objects_v2(Bucket=real["FILES_BUCKET"])
    objects_before = {o["Key"] for o in listed.get("Contents", [])}
    own_postgres.pause()
    failed = api.create("lost.txt", "never acknowledged")
    assert failed.status == 503
    assert failed.json["Code"] == "ServiceUnavailable"
    assert int(failed.headers["Retry-After"]) > 0
    assert api.put(kept["id"], "changed").status == 503
    health = api.client.http.get("/health")
    assert health.status_code == 503
    assert "Retry-After" in health.headers
    listed = _s3(real).list_objects_v2(Bucket=real["FILES_BUCKET"])
    assert {o["Key"] for o in listed.get("Contents", [])} == objects_before

    own_postgres.resume()
    assert api.get(f"/files/{kept['id']}").text == "durable"
    assert api.created("lost.txt", "now it works")["name"] == "lost.txt"
    assert api.client.http.get("/health").status_code == 200


def test_s3_unreachable_is_503_and_leaves_no_row(
    api: Api, real: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = api.created("kept.txt", "in s3")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("CACHE_BODY_MAX_BYTES", "0")
    reset_drivers()
    failed = api.create("nope.txt", "x")
    assert failed.status == 503
    assert "Retry-After" in failed.headers
    assert api.put(kept["id"], "changed").status == 503
    assert api.get("/files").json["items"][0]["name"] == "kept.txt"
    assert len(api.get("/files").json["items"]) == 1

    monkeypatch.setenv("AWS_ENDPOINT_URL", real["AWS_ENDPOINT_URL"])
    reset_drivers()
    assert api.get(f"/files/{kept['id']}").text == "in s3"
    assert api.created("nope.txt", "x")["name"] == "nope.txt"


def test_sslmode_require_insists_on_tls(
    real: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The throwaway server has no TLS: with sslmode=require nothing is sent in clear."""
    from app import app

    monkeypatch.setenv("DATABASE_URL", real["DATABASE_URL"] + "?sslmode=require")
    reset_drivers()
    with Client(app, stage_name=LOCAL_STAGE) as client:
        reply = client.http.get("/health")
    assert reply.status_code == 503
    assert json.loads(reply.body)["checks"]["database"]["status"] == "unavailable"


def test_missing_setting_inside_lambda_is_an_error_not_a_fallback(
    embedded_env: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app import app

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "textfiles-prod")
    reset_drivers()
    with Client(app, stage_name=LOCAL_STAGE) as client:
        reply = client.http.get("/files", headers={"authorization": "Bearer x"})
        health = client.http.get("/health")
    assert reply.status_code == 503
    assert health.status_code == 503
    assert not embedded_env.exists(), "no embedded database or folder may be created"
    out = capsys.readouterr().out
    assert "MEMCACHED_SERVERS is not set" in out or "DATABASE_URL is not set" in out


@pytest.fixture
def silent_cache(real: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A 'memcached' that accepts connections and never answers: the slow-cache case."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    monkeypatch.setenv("MEMCACHED_SERVERS", f"127.0.0.1:{listener.getsockname()[1]}")
    reset_drivers()
    yield
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


def test_a_hanging_cache_costs_a_short_timeout_not_an_error(silent_cache: None, api: Api) -> None:
    import time

    started = time.monotonic()
    meta = api.created("slow.txt", "still served")
    assert api.get(f"/files/{meta['id']}").text == "still served"
    assert api.put(meta["id"], "and written").status == 200
    assert api.get(f"/files/{meta['id']}").text == "and written"
    assert time.monotonic() - started < 5, "the cache's timeouts are short and it is then bypassed"


def test_pipelined_reads_and_count_are_atomic_across_clients(real: dict[str, str]) -> None:
    """get_many + incr in one round trip: two independent clients never see the same count."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.cache.memcached import MemcachedDriver

    drivers = [MemcachedDriver(real["MEMCACHED_SERVERS"]) for _ in range(2)]
    drivers[0].set_many({"tf:test:a": b"alpha"}, 60)
    counter = f"tf:test:count:{id(drivers)}"

    def hit(i: int) -> tuple[dict[str, bytes], int, int]:
        return drivers[i % 2].get_many_incr(["tf:test:a", "tf:test:none"], counter, 60)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(hit, range(40)))
    assert all(found == {"tf:test:a": b"alpha"} for found, _, _ in results)
    assert sorted(count for _, count, _ in results) == list(range(1, 41))
    assert sum(trips == 1 for _, _, trips in results) >= 36  # the first ones create it
