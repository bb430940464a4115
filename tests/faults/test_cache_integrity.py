"""The cache never serves stale data: ordered writes, outages, revocation, the guards around it."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from conftest import FakeClock, reset_drivers
from support.api import Api
from support.chalice_local import ChaliceLocal
from support.faults import FaultProxy
from support.memcached import MemcachedServer
from support.net import ServerUnavailable, unavailable
from support.threads import join_threads

ROOT = Path(__file__).resolve().parents[2]


def _entry(key: str) -> bytes | None:
    """What the cache itself holds under a key (memcached or the in-process driver)."""
    from chalicelib.cache import cache

    return cache().driver.get_many([key]).get(key)


def _tenant(api: Api) -> Any:
    from chalicelib.tenants import apikeys

    return apikeys.lookup(apikeys.hash_key(str(api.key)))


def _in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(target()))
    thread.start()
    return thread, results


# --- the drivers: one semantics -----------------------------------------------------


@pytest.fixture(params=["memory", "memcached"])
def driver(request: pytest.FixtureRequest) -> Any:
    from chalicelib.cache.memcached import MemcachedDriver
    from chalicelib.cache.memory import MemoryDriver

    if request.param == "memory":
        return MemoryDriver()
    server: MemcachedServer = request.getfixturevalue("memcached")
    return MemcachedDriver(server.servers)


def test_both_drivers_have_memcacheds_add_gets_cas_and_counters(driver: Any) -> None:
    key, counter = f"contract:{uuid.uuid4().hex}", f"contract:n:{uuid.uuid4().hex}"
    assert driver.gets(key) == (None, None)
    assert driver.add(key, b"1", 60)
    assert not driver.add(key, b"2", 60)
    value, token = driver.gets(key)
    assert value == b"1"
    driver.set_many({key: b"3"}, 60)
    assert driver.cas(key, b"4", token, 60) is False, "changed since gets"
    value, token = driver.gets(key)
    assert driver.cas(key, b"5", token, 60) is True
    assert driver.get_many([key]) == {key: b"5"}
    driver.delete_many([key])
    assert driver.cas(key, b"6", token, 60) is None, "gone"
    assert driver.incr(counter, -1, 60) == 0
    assert driver.get_many([counter]) == {}, "a decrement creates nothing"
    assert driver.incr(counter, 2, 60) == 2
    assert driver.incr(counter, -5, 60) == 0, "never below zero"


# --- 4. cache writes only move forward ------------------------------------------------


def test_a_writer_that_reaches_the_cache_last_cannot_put_an_older_body_back(
    api: Api, pause_points: Any
) -> None:
    from chalicelib.files import filecache, writes

    fid = api.created("race.txt", "v1")["id"]
    assert api.get(f"/files/{fid}").text == "v1"
    tenant = _tenant(api)
    pause = pause_points.arm("filecache.written")
    thread, done = _in_thread(lambda: writes.replace(tenant, fid, b"v2"))
    assert pause.wait_reached(5), "the first writer committed and is about to write the cache"
    assert api.put(fid, "v3").status == 200
    pause.release()
    join_threads(thread)
    assert done[0].version == 2, "the first writer was acknowledged"
    assert api.get(f"/files/{fid}").text == "v3"
    assert api.get(f"/files/{fid}/metadata").json["version"] == 3
    entry = _entry(filecache.meta_key(fid))
    assert entry is not None and filecache.order(entry) == (3, 1)


def test_a_writer_that_reaches_the_cache_last_cannot_undo_a_delete(
    api: Api, pause_points: Any
) -> None:
    from chalicelib.files import filecache, writes

    fid = api.created("gone.txt", "v1")["id"]
    assert api.get(f"/files/{fid}").text == "v1"
    tenant = _tenant(api)
    pause = pause_points.arm("filecache.written")
    thread, _ = _in_thread(lambda: writes.replace(tenant, fid, b"v2"))
    assert pause.wait_reached(5)
    assert api.delete(fid).status == 204
    pause.release()
    join_threads(thread)
    assert _entry(filecache.meta_key(fid)) == filecache.tombstone(2)  # deleted at version 2
    assert api.get(f"/files/{fid}").status == 404
    assert api.get(f"/files/{fid}/metadata").status == 404


# --- 5. a cache outage leaves nothing stale behind ----------------------------------------


@pytest.fixture
def cut_cache(
    backend: str,
    memcached: MemcachedServer,
    fault_proxy: Callable[[tuple[str, int]], FaultProxy],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[FaultProxy]:
    """The app's memcached behind a proxy the test can cut (the real backends only)."""
    if backend != "real":
        pytest.skip("a cut needs a network between the app and its cache")
    proxy = fault_proxy(memcached.address)
    monkeypatch.setenv("MEMCACHED_SERVERS", f"127.0.0.1:{proxy.port}")
    monkeypatch.setenv("CACHE_RETRY_SECONDS", "0.2")
    reset_drivers()
    yield proxy
    reset_drivers()


@pytest.mark.parametrize("backend", ["real"], indirect=True)
def test_writes_during_a_cache_outage_are_never_read_stale_after_it(
    cut_cache: FaultProxy, api: Api
) -> None:
    from chalicelib.db import database

    ids = [api.created(f"f{i}.txt", f"{i} v1")["id"] for i in range(15)]
    for fid in ids:
        api.get(f"/files/{fid}")
        api.get(f"/files/{fid}/metadata")
    cut_cache.cut()
    acked: dict[str, str | None] = {}
    for i, fid in enumerate(ids):
        if i % 5 == 0:
            assert api.delete(fid).status == 204
            acked[fid] = None
        else:
            assert api.put(fid, f"{i} v2").status == 200
            acked[fid] = f"{i} v2"
        if i % 3 == 0:  # reads during the outage are fresh too
            reply = api.get(f"/files/{fid}")
            assert (reply.text if reply.status == 200 else None) == acked[fid]
    cut_cache.restore()
    time.sleep(0.3)  # past CACHE_RETRY_SECONDS: the cache is used again
    for _round in range(2):  # the first read checks and replays, the second is served cached
        for fid, body in acked.items():
            reply = api.get(f"/files/{fid}")
            assert (reply.text if reply.status == 200 else None) == body, fid
    # every write the cache missed was recorded, then replayed and forgotten
    assert database().query("SELECT COUNT(*) AS n FROM cache_dirty")[0]["n"] == 0


@pytest.mark.parametrize("backend", ["real"], indirect=True)
def test_memcached_cut_and_restored_under_concurrent_writers_leaves_nothing_stale(
    cut_cache: FaultProxy, api: Api
) -> None:
    """Four writers replace files, and delete some once memcached is cut under them."""
    from chalicelib.files import writes

    tenant = _tenant(api)
    ids = [api.created(f"w{i}.txt", f"{i} v0")["id"] for i in range(16)]
    for fid in ids:
        api.get(f"/files/{fid}")
    acked: dict[str, str | None] = {fid: None for fid in ids}
    stop, cut = threading.Event(), threading.Event()

    def writer(mine: list[str]) -> None:
        version = 0
        while not stop.is_set():
            version += 1
            doomed = mine[::3] if cut.is_set() else []
            for fid in mine:
                writes.replace(tenant, fid, f"{fid} v{version}".encode())
                acked[fid] = f"{fid} v{version}"
                if fid in doomed:
                    writes.delete(tenant, fid)
                    acked[fid] = None
            mine = [fid for fid in mine if fid not in doomed]

    threads = [threading.Thread(target=writer, args=(ids[k::4],)) for k in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    cut_cache.cut()
    cut.set()
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        join_threads(thread)
    cut_cache.restore()
    time.sleep(0.3)  # past CACHE_RETRY_SECONDS
    for _round in range(2):
        for fid, body in acked.items():
            reply = api.get(f"/files/{fid}")
            assert (reply.text if reply.status == 200 else None) == body, fid


def _get(url: str, key: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


@pytest.mark.parametrize("backend", ["real"], indirect=True)
def test_a_process_that_never_lost_the_cache_stops_serving_a_missed_write_within_the_bound(
    cut_cache: FaultProxy, api: Api, memcached: MemcachedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One process is cut from memcached while it writes; another still reaches it."""
    monkeypatch.setenv("CACHE_CHECK_SECONDS", "1")
    fid = api.created("shared.txt", "v1")["id"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA")}
    env["MEMCACHED_SERVERS"] = memcached.servers
    other = ChaliceLocal(env)
    try:
        other.start()
        url = f"{other.base}/files/{fid}"
        assert [_get(url, str(api.key)) for _ in range(2)] == [(200, "v1")] * 2
        cut_cache.cut()
        assert api.put(fid, "v2").status == 200
        written = time.monotonic()
        time.sleep(1.2)  # CACHE_CHECK_SECONDS and a margin
        assert [_get(url, str(api.key)) for _ in range(3)] == [(200, "v2")] * 3
        assert time.monotonic() - written < 5
    except ServerUnavailable as exc:
        unavailable("chalice local", str(exc))
    finally:
        other.stop()


# --- 10. revocation -------------------------------------------------------------------


def test_a_lookup_in_flight_cannot_bring_a_revoked_key_back(
    client: Client, new_key: Callable[[str | None], str], pause_points: Any
) -> None:
    from chalicelib.edge import gate
    from chalicelib.tenants import apikeys

    key = new_key(None)
    pause = pause_points.arm("tenants.key_looked_up")
    thread, _ = _in_thread(lambda: gate.admit(key, "test"))
    assert pause.wait_reached(5), "the lookup read the key before the revocation"
    assert apikeys.revoke_key(key)
    pause.release()
    join_threads(thread)
    assert Api(client, key).get("/files").status == 401


def test_a_key_revoked_by_the_admin_cli_stops_working_within_the_bound(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI is another process: it shares memcached, but not the in-process cache."""
    monkeypatch.setenv("KEY_CACHE_SECONDS", "1")
    assert [api.get("/files").status for _ in range(2)] == [200, 200]
    command = [sys.executable, "-m", "chalicelib.edge.admin", "revoke", str(api.key)]
    out = subprocess.run(command, cwd=ROOT, env=dict(os.environ), capture_output=True, timeout=60)
    assert out.stdout.decode().strip() == "revoked", out.stderr
    revoked = time.monotonic()
    if backend == "real":
        assert api.get("/files").status == 401, "the CLI marked the shared cache"
    while api.get("/files").status != 401:
        assert time.monotonic() - revoked < 1.5, "KEY_CACHE_SECONDS and a margin"
        time.sleep(0.05)
    assert api.get("/files").status == 401


# --- the failed-key limiter and /health -----------------------------------------------


def test_a_parallel_burst_of_bad_keys_cannot_pass_the_limit(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.cache import cache
    from chalicelib.db import database
    from chalicelib.edge import gate
    from chalicelib.errors import RateLimited, Unauthorized
    from chalicelib.tenants import apikeys

    monkeypatch.setenv("AUTH_FAILURES_PER_WINDOW", "2")
    database().query("SELECT 1 AS ok")  # drivers chosen and the schema ready before the burst
    cache().get_many(["warm"])
    real_lookup = apikeys.lookup

    def slow_lookup(key_hash: str) -> Any:
        time.sleep(0.2)  # every guess of the burst is in flight at once
        return real_lookup(key_hash)

    monkeypatch.setattr(apikeys, "lookup", slow_lookup)
    source = f"burst-{uuid.uuid4().hex[:8]}"

    def guess(i: int) -> str:
        try:
            gate.admit(f"tf_guess_{i}", source)
        except (Unauthorized, RateLimited) as exc:
            return type(exc).__name__
        return "accepted"

    # four at once: as many as a process's memcached connection pool serves together
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(guess, range(4)))
    assert sorted(outcomes) == ["RateLimited"] * 2 + ["Unauthorized"] * 2


def test_health_reuses_a_healthy_report_and_is_limited_per_address(
    client: Client, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    import json

    from chalicelib.db import database

    monkeypatch.setenv("HEALTH_PER_WINDOW", "3")
    # a rate-limit window no other test has used (the counters live in a shared memcached)
    clock.now = (clock.now // 60_000_000 + random.randrange(1, 10**6)) * 60_000_000
    first = client.http.get("/health")
    assert first.status_code == 200
    statements = database().statements
    second = client.http.get("/health")
    assert second.status_code == 200
    assert json.loads(second.body) == json.loads(first.body)
    assert database().statements == statements, "no backend was asked again"
    assert client.http.get("/health").status_code == 200
    refused = client.http.get("/health")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0


@pytest.mark.parametrize("backend", ["real"], indirect=True)
def test_health_does_not_end_the_cache_bypass(
    cut_cache: FaultProxy, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.cache import cache

    monkeypatch.setenv("CACHE_RETRY_SECONDS", "30")
    fid = api.created("x.txt", "x")["id"]
    cut_cache.cut()
    assert api.get(f"/files/{fid}").text == "x"
    cut_cache.restore()
    reply = api.client.http.get("/health")
    assert reply.status_code == 200
    trips = cache().round_trips
    assert api.get(f"/files/{fid}").text == "x"
    assert cache().round_trips == trips, "still bypassed: health only observes"


def test_a_cold_process_trusts_a_recent_check_shared_through_the_cache(api: Api) -> None:
    """A check's result is shared (`tf:clean`): a new process's cached read asks no database."""
    from chalicelib.cache import cache
    from chalicelib.db import database

    fid = api.created("shared-trust.txt", "v1")["id"]
    assert api.get(f"/files/{fid}").body == b"v1"  # a check ran and shared its result
    assert _entry("tf:clean") is not None
    cache().trusted_until = 0.0  # this process forgets its own check, as a cold one has none
    before = database().statements
    assert api.get(f"/files/{fid}").body == b"v1"
    assert database().statements == before, "served from the cache on the shared check"


def test_a_shared_check_expires_and_a_missed_write_ends_it(
    api: Api, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.cache import cache
    from chalicelib.db import database
    from chalicelib.files import filecache

    fid = api.created("shared-expiry.txt", "v1")["id"]
    assert api.get(f"/files/{fid}").body == b"v1"
    cache().trusted_until = 0.0
    clock.advance(3)  # past CACHE_CHECK_SECONDS: the shared result is too old to trust
    before = database().statements
    assert api.get(f"/files/{fid}").body == b"v1"
    assert database().statements > before, "checked the database again"
    filecache._mark_dirty(fid, 99)  # a write the cache missed takes the shared result away
    assert _entry("tf:clean") is None


def test_a_shared_check_from_a_clock_ahead_is_not_trusted(api: Api) -> None:
    """A process whose clock runs ahead cannot make others trust the cache for longer."""
    from chalicelib import clock
    from chalicelib.cache import cache
    from chalicelib.db import database

    fid = api.created("shared-future.txt", "v1")["id"]
    assert api.get(f"/files/{fid}").body == b"v1"
    cache().set_many({"tf:clean": str(clock.now_us() + 3_600_000_000).encode()})
    cache().trusted_until = 0.0
    before = database().statements
    assert api.get(f"/files/{fid}").body == b"v1"
    assert database().statements > before, "checked the database: the result is not trusted"
