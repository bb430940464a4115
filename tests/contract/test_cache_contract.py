"""The cache port's promises (chalicelib.cache: Cache over a CacheDriver), held by every driver.

What the core relies on: values read back as stored (keys, file bodies), `add` never
overwrites (a slow reader cannot put an old entry back), `incr` is a shared counter that a
miss starts and a decrement never takes below zero (rate limits, spend guards), gets/cas
only moves forward (file metadata), `get_many_incr` answers a lookup and a count in one
trip (authentication), entries expire after their TTL, and a cache that fails is bypassed
for a while and never raises (every reader and writer).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import clock
from support.memcached import MemcachedServer


def _key(name: str) -> str:
    return f"contract:{uuid.uuid4().hex[:12]}:{name}"


def test_set_get_delete(cache_port: Any) -> None:
    one, two, absent = _key("one"), _key("two"), _key("absent")
    cache_port.set_many({one: b"1", two: b"\x00\xff two"})
    assert cache_port.get_many([one, two, absent]) == {one: b"1", two: b"\x00\xff two"}
    assert (cache_port.hits, cache_port.misses) == (2, 1)
    cache_port.set_many({one: b"replaced"})
    assert cache_port.get_many([one]) == {one: b"replaced"}
    cache_port.delete_many([one, absent])
    assert cache_port.get_many([one, two]) == {two: b"\x00\xff two"}
    assert cache_port.errors == 0


def test_add_stores_only_when_absent(cache_port: Any) -> None:
    key = _key("added")
    cache_port.add(key, b"first")
    cache_port.add(key, b"second")
    assert cache_port.get_many([key]) == {key: b"first"}
    cache_port.delete_many([key])
    cache_port.add(key, b"after delete")
    assert cache_port.get_many([key]) == {key: b"after delete"}


def test_incr_counts_from_a_miss_and_never_below_zero(cache_port: Any) -> None:
    counter, untouched = _key("count"), _key("untouched")
    assert cache_port.incr(counter, 3, 60) == 3, "a miss starts the counter"
    assert cache_port.incr(counter, 2, 60) == 5
    assert int(cache_port.get_many([counter])[counter]) == 5, "readable as a decimal"
    assert cache_port.incr(counter, -2, 60) == 3
    assert cache_port.incr(counter, -10, 60) == 0
    assert cache_port.incr(untouched, -1, 60) == 0
    assert cache_port.get_many([untouched]) == {}, "a decrement creates nothing"


def test_cas_moves_only_forward(cache_port: Any) -> None:
    driver, key = cache_port.driver, _key("meta")
    assert driver.gets(key) == (None, None)
    cache_port.set_many({key: b"v1"})
    value, token = driver.gets(key)
    assert value == b"v1"
    cache_port.set_many({key: b"v2"})  # another writer, after our gets
    assert driver.cas(key, b"stale", token, 60) is False
    assert cache_port.get_many([key]) == {key: b"v2"}
    value, token = driver.gets(key)
    assert driver.cas(key, b"v3", token, 60) is True
    assert driver.cas(key, b"v4", token, 60) is False, "a token is good for one write"
    cache_port.delete_many([key])
    assert driver.cas(key, b"v5", token, 60) is None, "gone"
    assert cache_port.get_many([key]) == {}


def test_set_forward_keeps_the_newer_entry(cache_port: Any) -> None:
    key = _key("versioned")

    def older_than(mine: bytes) -> Any:
        return lambda current: int(current) < int(mine)

    assert cache_port.set_forward(key, b"2", older_than(b"2"))
    assert cache_port.set_forward(key, b"1", older_than(b"1")), "a newer entry is as good"
    assert cache_port.get_many([key]) == {key: b"2"}
    assert cache_port.set_forward(key, b"3", older_than(b"3"))
    assert cache_port.get_many([key]) == {key: b"3"}


def test_get_many_incr_reads_and_counts_in_one_trip(cache_port: Any) -> None:
    key, counter = _key("entry"), _key("window")
    cache_port.set_many({key: b"tenant"})
    assert cache_port.get_many_incr([key, _key("absent")], counter, 60) == ({key: b"tenant"}, 1)
    trips = cache_port.round_trips
    assert cache_port.get_many_incr([key], counter, 60) == ({key: b"tenant"}, 2)
    assert cache_port.round_trips == trips + 1, "an existing counter: one round trip"
    assert cache_port.get_many_incr([], counter, 60) == ({}, 3)
    assert cache_port.incr(counter, 1, 60) == 4, "the same counter as incr"


def test_entries_expire_after_their_ttl(cache_port: Any) -> None:
    """memcached counts whole seconds: a 2 s entry lives at least 1 s, at most about 3 s."""
    stored, added, counter, kept = _key("set"), _key("add"), _key("incr"), _key("kept")
    cache_port.set_many({stored: b"s"}, ttl=2)
    cache_port.add(added, b"a", ttl=2)
    assert cache_port.incr(counter, 1, 2) == 1
    cache_port.set_many({kept: b"k"}, ttl=60)
    assert cache_port.get_many([stored, added, counter]) == {
        stored: b"s",
        added: b"a",
        counter: b"1",
    }
    time.sleep(3.2)
    assert cache_port.get_many([stored, added, counter, kept]) == {kept: b"k"}
    assert cache_port.incr(counter, 1, 2) == 1, "an expired counter starts again"


@pytest.fixture
def dead_cache(
    lone_memcached: MemcachedServer, cache_settings: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """The port over a memcached that has just been killed (retried after 0.5 s)."""
    from chalicelib.cache import Cache
    from chalicelib.cache.memcached import MemcachedDriver

    monkeypatch.setenv("CACHE_RETRY_SECONDS", "0.5")
    driver = MemcachedDriver(lone_memcached.servers)
    cache = Cache(driver, "memcached")
    key = _key("before")
    cache.set_many({key: b"cached"})
    assert cache.get_many([key]) == {key: b"cached"}
    lone_memcached.kill()
    yield cache
    driver.close()


def test_a_dead_server_is_a_miss_then_bypassed(dead_cache: Any) -> None:
    before = clock.now_us()
    assert dead_cache.get_many([_key("any")]) == {}
    assert dead_cache.errors == 1
    assert before <= dead_cache.failed_at_us <= clock.now_us()
    assert dead_cache.bypassed()

    trips = dead_cache.round_trips
    dead_cache.set_many({_key("skipped"): b"x"})
    dead_cache.add(_key("skipped"), b"x")
    dead_cache.delete_many([_key("skipped")])
    assert dead_cache.incr(_key("count"), 1, 60) is None
    assert dead_cache.get_many_incr([_key("any")], _key("count"), 60) == ({}, None)
    assert dead_cache.set_forward(_key("meta"), b"1", lambda _: True) is False
    assert (dead_cache.round_trips, dead_cache.errors) == (trips, 1), "not asked while bypassed"


def test_health_asks_even_while_bypassed_and_keeps_the_bypass(dead_cache: Any) -> None:
    dead_cache.get_many([_key("any")])
    assert dead_cache.health()["status"] == "unavailable"
    assert dead_cache.bypassed()


def test_writes_while_down_say_they_failed(dead_cache: Any) -> None:
    """Not bypassed yet: the failing write itself answers False and marks the failure."""
    assert dead_cache.set_forward(_key("meta"), b"1", lambda _: True) is False
    assert dead_cache.errors == 1 and dead_cache.failed_at_us > 0
    assert dead_cache.incr(_key("count"), 1, 60) is None


def test_the_cache_is_used_again_after_the_retry_time(
    dead_cache: Any, lone_memcached: MemcachedServer
) -> None:
    dead_cache.get_many([_key("any")])
    lone_memcached.start()  # the same port, empty
    key = _key("after")
    dead_cache.set_many({key: b"skipped while bypassed"})
    assert dead_cache.bypassed()
    time.sleep(0.6)
    assert not dead_cache.bypassed()
    assert dead_cache.get_many([key]) == {}, "the write while bypassed was not sent"
    dead_cache.set_many({key: b"back"})
    assert dead_cache.get_many([key]) == {key: b"back"}
    assert dead_cache.health()["status"] == "ok"
    assert dead_cache.errors == 1


# --- one server: a ring of several is refused -------------------------------------------


@pytest.fixture
def ring(memcached: MemcachedServer, lone_memcached: MemcachedServer) -> str:
    """Two real memcached servers, as MEMCACHED_SERVERS would name a ring."""
    return f"{memcached.servers},{lone_memcached.servers}"


def test_a_ring_of_two_servers_is_refused_with_a_clear_error(ring: str) -> None:
    """Issue #22, 3: with two servers pymemcache's HashClient sent a timed-out node's keys to
    the other one, and the node came back serving entries older than acknowledged writes.
    The cache protocol (chalicelib/files/filecache.py) is proved for one server: a ring is a
    configuration error, not a silent risk (docs/backends.md, "One memcached server")."""
    from chalicelib.cache.memcached import MemcachedDriver
    from chalicelib.config import MissingSetting

    with pytest.raises(MissingSetting, match="one memcached server"):
        MemcachedDriver(ring)


@pytest.mark.parametrize("backend", ["real"], indirect=True)
def test_the_api_answers_503_and_says_why_when_given_a_ring(
    ring: str, api: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from conftest import reset_drivers

    monkeypatch.setenv("MEMCACHED_SERVERS", ring)
    reset_drivers()
    reply = api.get("/files")
    assert reply.status == 503
    assert int(reply.headers["Retry-After"]) > 0
    assert "MEMCACHED_SERVERS names 2 servers" in capsys.readouterr().out
