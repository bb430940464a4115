"""Checks that the throwaway servers in tests/support (postgres, memcached, moto) really work."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from support.memcached import MemcachedServer
from support.moto import MotoServer
from support.net import ServerUnavailable, end_process, free_port, unavailable
from support.postgres import PostgresServer


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
    except ServerUnavailable as exc:
        unavailable("PostgreSQL", str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def memcached() -> Iterator[MemcachedServer]:
    server = MemcachedServer()
    try:
        server.start()
    except ServerUnavailable as exc:
        unavailable("memcached", str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def aws_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield


@pytest.fixture(scope="module")
def moto(aws_env: None) -> Iterator[MotoServer]:
    server = MotoServer()
    try:
        server.start()
    except ServerUnavailable as exc:
        unavailable("moto server", str(exc))
    yield server
    server.stop()


def _pg(server: PostgresServer, database: str = "postgres") -> Any:
    import pg8000.native

    assert server.port is not None
    return pg8000.native.Connection(
        "postgres", host="127.0.0.1", port=server.port, database=database
    )


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_postgres_round_trip(postgres: PostgresServer) -> None:
    assert postgres.url == f"postgresql://postgres@127.0.0.1:{postgres.port}/postgres"
    url = postgres.create_database("roundtrip")
    assert url.endswith("/roundtrip")
    conn = _pg(postgres, "roundtrip")
    try:
        conn.run("CREATE TABLE t (id int PRIMARY KEY, body text)")
        conn.run("INSERT INTO t VALUES (:id, :body)", id=1, body="hello")
        assert conn.run("SELECT body FROM t WHERE id = 1") == [["hello"]]
    finally:
        conn.close()


def test_postgres_pause_resume_keeps_data(postgres: PostgresServer) -> None:
    import pg8000.exceptions

    conn = _pg(postgres)
    conn.run("CREATE TABLE kept (v text)")
    conn.run("INSERT INTO kept VALUES ('survives')")
    conn.close()
    port = postgres.port

    postgres.pause()
    assert not postgres.running
    with pytest.raises((pg8000.exceptions.InterfaceError, OSError)):
        _pg(postgres)

    postgres.resume()
    assert postgres.running
    assert postgres.port == port
    conn = _pg(postgres)
    try:
        assert conn.run("SELECT v FROM kept") == [["survives"]]
    finally:
        conn.close()


def test_postgres_stop_removes_everything() -> None:
    server = PostgresServer()
    try:
        server.start()
    except ServerUnavailable as exc:
        unavailable("PostgreSQL", str(exc))
    base_dir, port = server.base_dir, server.port
    assert base_dir is not None and port is not None
    server.stop()
    assert not base_dir.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_memcached_kill_and_restart(memcached: MemcachedServer) -> None:
    from pymemcache.client.base import Client

    host, port = memcached.servers.split(":")
    assert host == "127.0.0.1" and int(port) == memcached.port
    client = Client(memcached.address, connect_timeout=1, timeout=1)
    client.set("k", b"v")
    assert client.get("k") == b"v"

    memcached.kill()
    with pytest.raises(ConnectionRefusedError):
        Client(memcached.address, connect_timeout=1, timeout=1).get("k")

    memcached.restart()
    assert memcached.port == int(port)
    fresh = Client(memcached.address, connect_timeout=1, timeout=1)
    assert fresh.get("k") is None  # a crash loses the cache
    fresh.set("k", b"again")
    assert fresh.get("k") == b"again"
    fresh.close()
    client.close()


def test_moto_s3_round_trip(moto: MotoServer) -> None:
    import boto3

    assert moto.endpoint == f"http://127.0.0.1:{moto.port}"
    s3 = boto3.client("s3", endpoint_url=moto.endpoint, region_name="us-east-1")
    bucket = f"textfiles-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"hello")
    assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"hello"

    # moto's state is global to the process (other tests' buckets live there too): no reset().
    s3.delete_object(Bucket=bucket, Key="a.txt")
    s3.delete_bucket(Bucket=bucket)
    assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_unavailable_skips_or_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEXTFILES_REQUIRE_BACKENDS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="memcached unavailable: gone"):
        unavailable("memcached", "gone")
    monkeypatch.setenv("TEXTFILES_REQUIRE_BACKENDS", "1")
    with pytest.raises(pytest.fail.Exception, match="memcached is required"):
        unavailable("memcached", "gone")


def test_missing_binary_raises_server_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PG_BIN", "/nonexistent")
    with pytest.raises(ServerUnavailable, match="PG_BIN=/nonexistent"):
        PostgresServer().start()


def test_postgres_tls_only_refuses_plain_tcp() -> None:
    import pg8000.exceptions
    import pg8000.native

    from chalicelib.db import postgres_settings
    from chalicelib.db.postgres import PostgresDatabase

    server = PostgresServer(tls_only=True)
    try:
        server.start()
    except ServerUnavailable as exc:
        unavailable("PostgreSQL", str(exc))
    try:
        assert server.url.endswith("/postgres?sslmode=require")
        with pytest.raises(pg8000.exceptions.DatabaseError, match="no encryption"):
            pg8000.native.Connection(
                "postgres", host="127.0.0.1", port=server.port, ssl_context=False
            )
        conn = server.connect()
        try:
            assert conn.run("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == [[True]]
        finally:
            conn.close()
        url = server.create_database("tlsonly")
        db = PostgresDatabase(postgres_settings(url))
        assert db.query("SELECT 1 AS one") == [{"one": 1}]
        db.close()
    finally:
        server.stop()


def test_a_server_is_a_with_block_and_leaves_no_process() -> None:
    try:
        with MemcachedServer() as server:
            assert server.running
            proc = server._proc
    except ServerUnavailable as exc:
        unavailable("memcached", str(exc))
    assert not server.running and server.port is None
    assert proc is not None and proc.returncode is not None


def test_end_process_kills_a_child_that_ignores_sigterm() -> None:
    import subprocess
    import sys
    import time

    ignore = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN)"
    ignore += "; print(1, flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", ignore], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"1\n"
    started_at = time.monotonic()
    end_process(proc, grace=0.3)
    assert proc.returncode == -9, "SIGKILL after the grace period"
    assert time.monotonic() - started_at < 5
    proc.stdout.close()
    end_process(None, grace=1)  # nothing started: nothing to do
