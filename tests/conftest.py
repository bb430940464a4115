"""Fixtures: the API on embedded drivers and on real backends (PostgreSQL, memcached, moto)."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import config, resets
from support.faults import FaultProxy
from support.memcached import MemcachedServer
from support.moto import AWS_ENV, MotoServer
from support.net import started
from support.postgres import PostgresServer

# The deployable stages (dev, prod) carry infrastructure settings; tests and `make run`
# use a stage that is not in .chalice/config.json, so no stage setting leaks in.
LOCAL_STAGE = "local"

# Cleared for the embedded configuration: the settings that choose a driver or where it keeps
# its data, and the size and spend limits (chalicelib/settings_table.py).
CLEARED = config.names("backend", "limit")


def moto_client(service: str, endpoint: str, verify: str | None = None) -> Any:
    """A boto3 client of the test's own on moto's server (dummy credentials, us-east-1);
    `verify`: the CA bundle of a moto served over HTTPS."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        verify=verify,
    )


def reset_drivers() -> None:
    """Forget every chosen driver and all module state, so the next use reads the settings
    again, as a new process would."""
    resets.reset()


@pytest.fixture(autouse=True)
def real_environ() -> Iterator[None]:
    """chalice's test client swaps os.environ for a copy during each request; two requests at
    once (threads) can leave a copy in place, and with it a test's settings. Put it back."""
    real = os.environ
    yield
    os.environ = real  # noqa: B003 - the process environment object itself, not a copy


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = started(PostgresServer(), "PostgreSQL")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def memcached() -> Iterator[MemcachedServer]:
    server = started(MemcachedServer(), "memcached")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    server = started(MotoServer(), "moto server")
    yield server
    server.stop()


@pytest.fixture
def own_memcached(backend: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemcachedServer]:
    """A memcached of this test's own, to kill and restart; the app is pointed at it."""
    server = started(MemcachedServer(), "memcached")
    monkeypatch.setenv("MEMCACHED_SERVERS", server.servers)
    reset_drivers()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def real_settings(
    postgres: PostgresServer, memcached: MemcachedServer, moto: MotoServer
) -> dict[str, str]:
    """One database and one bucket for the session; tests isolate themselves by tenant."""
    database_url = postgres.create_database("textfiles_test")
    env = {**AWS_ENV, "AWS_ENDPOINT_URL": moto.endpoint}
    moto_client("s3", moto.endpoint).create_bucket(Bucket="textfiles-test")
    return {
        **env,
        "DATABASE_URL": database_url,
        "MEMCACHED_SERVERS": memcached.servers,
        "FILES_BUCKET": "textfiles-test",
    }


@pytest.fixture
def embedded_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Embedded drivers in a fresh data folder, no AWS at all."""
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    # Every test client calls from 127.0.0.1; the per-address guard has tests of its own.
    monkeypatch.setenv("AUTH_FAILURES_PER_WINDOW", "1000000")
    reset_drivers()
    yield tmp_path / "data"
    reset_drivers()


@pytest.fixture(params=["embedded", "real"])
def backend(
    request: pytest.FixtureRequest, embedded_env: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Run the test once on the embedded drivers and once on the real backends."""
    if request.param == "real":
        settings: dict[str, str] = request.getfixturevalue("real_settings")
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        reset_drivers()
    return str(request.param)


@pytest.fixture
def client(backend: str) -> Iterator[Client]:
    from app import app

    with Client(app, stage_name=LOCAL_STAGE) as test_client:
        yield test_client


@pytest.fixture
def new_key(backend: str) -> Callable[[str | None], str]:
    """Make a key for a fresh (or named) tenant, as `make key` does."""
    from chalicelib.tenants import apikeys

    def make(tenant: str | None = None) -> str:
        return apikeys.create_key(tenant or f"t-{uuid.uuid4().hex[:12]}")

    return make


class FakeClock:
    def __init__(self, start_us: int) -> None:
        self.now = start_us

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1_000_000)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    from chalicelib import clock as real_clock

    fake = FakeClock(real_clock.now_us())
    monkeypatch.setattr(real_clock, "now_us", fake)
    return fake


@pytest.fixture
def api(client: Client, new_key: Callable[[str | None], str]) -> Any:
    from support.api import Api

    return Api(client, new_key(None))


@pytest.fixture
def other_api(client: Client, new_key: Callable[[str | None], str]) -> Any:
    """A second tenant on the same service."""
    from support.api import Api

    return Api(client, new_key(None))


@pytest.fixture
def fault_proxy() -> Iterator[Callable[[tuple[str, int]], FaultProxy]]:
    """Start a fault-injecting TCP proxy in front of a (host, port); all stop at teardown."""
    proxies: list[FaultProxy] = []

    def start(upstream: tuple[str, int]) -> FaultProxy:
        proxy = FaultProxy(upstream).start()
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.stop()


@pytest.fixture
def pause_points() -> Iterator[Any]:
    """chalicelib.racepoints, disarmed (and every held thread freed) after the test."""
    from chalicelib import racepoints

    racepoints.reset()
    yield racepoints
    racepoints.reset()


@pytest.fixture
def limited(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> FakeClock:
    """A rate limit of 5 a minute, 15 s into a window of its own."""
    monkeypatch.setenv("RATE_LIMIT_PER_WINDOW", "5")
    monkeypatch.setenv("RATE_LIMIT_WINDOW_SECONDS", "60")
    # 15 s into a window no other test has used (counters in the shared memcached are fresh)
    window = clock.now // 60_000_000 + random.randrange(1, 10**6)
    clock.now = window * 60_000_000 + 15_000_000
    return clock


@pytest.fixture
def database_outage(backend: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The app's database, to cut off and restore (tests/support/outage.py)."""
    from support.outage import outage_of

    outage = outage_of(backend, request)
    yield outage
    outage.restore()
