"""A process serving requests on several threads (`make run`, `chalice local`) shares one
memcached driver: as many requests as arrive at once each get a connection, and none of them
is taken for a cache outage."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from conftest import reset_drivers
from support.faults import FaultProxy
from support.memcached import MemcachedServer
from support.threads import join_threads

CONCURRENT = 12


def test_concurrent_requests_each_get_a_connection(
    memcached: MemcachedServer,
    fault_proxy: Callable[[tuple[str, int]], FaultProxy],
    embedded_env: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.cache import cache

    host, _, port = memcached.servers.rpartition(":")
    proxy = fault_proxy((host, int(port)))
    monkeypatch.setenv("MEMCACHED_SERVERS", proxy.address)
    monkeypatch.setenv("MEMCACHED_TIMEOUT_SECONDS", "5")
    reset_drivers()
    cache().set_many({"tf:pool-test": b"here"}, 60)
    proxy.delay(0.3)  # every call holds its connection a while: they overlap
    start = threading.Barrier(CONCURRENT)
    found: list[dict[str, bytes]] = []

    def request() -> None:
        start.wait()
        found.append(cache().get_many(["tf:pool-test"]))

    threads = [threading.Thread(target=request) for _ in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    join_threads(*threads)
    assert cache().errors == 0
    assert cache().failed_at_us == 0
    assert found == [{"tf:pool-test": b"here"}] * CONCURRENT
