"""The fault-injection tools themselves: the proxy breaks what it says, the pauses hold."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from support.faults import FaultProxy
from support.memcached import MemcachedServer
from support.net import HOST
from support.postgres import PostgresServer
from support.threads import join_threads


def _pg(port: int) -> Any:
    import pg8000.native

    return pg8000.native.Connection(
        "postgres", host=HOST, port=port, database="postgres", ssl_context=False, timeout=5
    )


def test_dropped_commit_reply_leaves_the_commit_done(
    postgres: PostgresServer, fault_proxy: Callable[[tuple[str, int]], FaultProxy]
) -> None:
    table = f"t_{uuid.uuid4().hex[:8]}"
    direct = _pg(postgres.port or 0)
    direct.run(f"CREATE TABLE {table} (v int)")
    proxy = fault_proxy((HOST, postgres.port or 0))
    conn = _pg(proxy.port)
    conn.run("START TRANSACTION")
    conn.run(f"INSERT INTO {table} VALUES (1)")
    dropped = proxy.drop_reply_after(b"COMMIT")
    with pytest.raises(Exception):  # noqa: B017 - the client only sees a broken link
        conn.run("COMMIT")
    assert dropped.wait(5)
    # The client could not tell; the server did commit.
    assert direct.run(f"SELECT v FROM {table}") == [[1]]
    direct.run(f"DROP TABLE {table}")
    direct.close()


def test_cut_then_restore(
    memcached: MemcachedServer, fault_proxy: Callable[[tuple[str, int]], FaultProxy]
) -> None:
    from pymemcache.client.base import Client

    proxy = fault_proxy(memcached.address)
    client = Client((HOST, proxy.port), connect_timeout=1, timeout=1)
    client.set("faults:k", b"1", noreply=False)
    proxy.cut()
    with pytest.raises(Exception):  # noqa: B017 - reset or refused, either is a cut
        client.get("faults:k")
    proxy.restore()
    client.close()
    assert client.get("faults:k") == b"1"


def test_delay_holds_replies(
    memcached: MemcachedServer, fault_proxy: Callable[[tuple[str, int]], FaultProxy]
) -> None:
    from pymemcache.client.base import Client

    proxy = fault_proxy(memcached.address)
    proxy.delay(2.0)
    client = Client((HOST, proxy.port), connect_timeout=1, timeout=0.5)
    with pytest.raises(Exception):  # noqa: B017 - a timeout of the client's own
        client.get("faults:slow")


def test_pause_point_holds_a_thread_until_released(pause_points: Any) -> None:
    order: list[str] = []
    pause = pause_points.arm("faults.demo")

    def work() -> None:
        pause_points.point("faults.demo")
        order.append("worker")

    thread = threading.Thread(target=work)
    thread.start()
    assert pause.wait_reached(5)
    order.append("test")
    pause.release()
    join_threads(thread)
    assert order == ["test", "worker"]
    pause_points.point("faults.demo")  # disarmed after its one use: returns at once
