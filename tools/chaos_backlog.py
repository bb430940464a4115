"""`make chaos`, after the load: the replay work a request does after a cache outage that left
a backlog of missed writes (tools/chaos.py; issue 22, item 2).

BACKLOG rows are written into `cache_dirty` straight to PostgreSQL (as if that many writes had
missed the cache), the shared trust `tf:clean` is removed from memcached (as a missed write
removes it), and one cached file is read through the API, one request at a time, until the
backlog is gone and the read is served from the cache again. Each request's share of the
replay is the fall of the backlog's size across it; its latency is measured by the client.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from chaos_load import Api

BACKLOG = 10_000
MAX_REQUESTS = 5_000


@dataclass
class BacklogReport:
    rows: int
    requests: int  # until the backlog was gone
    most_rows: int  # replayed by one request, at most
    median_ms: float
    slowest_ms: float
    after_ms: float  # the fastest of five reads once the backlog is gone
    drained: bool

    def line(self) -> str:
        return (
            f"backlog {self.rows} rows: drained {self.drained} after {self.requests} requests,"
            f" at most {self.most_rows} rows replayed by one request; latency median"
            f" {self.median_ms:.1f} ms, slowest {self.slowest_ms:.1f} ms, then {self.after_ms:.1f}"
            " ms once drained"
        )


def _left() -> int:
    from chalicelib.db import database

    return int(database().query("SELECT COUNT(*) AS n FROM cache_dirty")[0]["n"])


def _seed(rows: int) -> None:
    """`rows` missed writes, and no process trusts the cache any longer."""
    from chalicelib import clock
    from chalicelib.cache import cache
    from chalicelib.db import database

    database().execute(
        "INSERT INTO cache_dirty (file_id, version, created_us)"
        " SELECT 'chaos-backlog-' || g, 1, CAST(:now AS BIGINT) + g"
        " FROM generate_series(1, :rows) AS g",
        now=clock.now_us(),
        rows=rows,
    )
    cache().driver.delete_many(["tf:clean"])
    time.sleep(2.5)  # CACHE_CHECK_SECONDS: trust a process took before is over


def _timed(api: Api, path: str) -> float:
    started = time.perf_counter()
    answer = api.call("GET", path)
    if answer is None or answer[0] != 200:
        raise RuntimeError(f"GET {path} answered {answer[0] if answer else 'nothing'}")
    return (time.perf_counter() - started) * 1000


def measure(api: Api, log: Callable[[str], None], rows: int = BACKLOG) -> BacklogReport:
    """Run against the app of `api`, with this process's settings pointing straight at the
    database and memcached (tools/chaos.py `direct`)."""
    answer = api.call("POST", "/files?name=chaos-backlog.txt", b"backlog\n")
    assert answer is not None and answer[0] == 201, answer
    path = f"/files/{json.loads(answer[1])['id']}/metadata"
    _timed(api, path)  # now cached
    _seed(rows)
    log(f"backlog of {rows} missed writes recorded; reading one cached file")
    times, shares, left = [], [], _left()
    while left and len(times) < MAX_REQUESTS:
        times.append(_timed(api, path))
        now_left = _left()
        shares.append(left - now_left)
        left = now_left
    _timed(api, path)  # the check that finds nothing left
    after = min(_timed(api, path) for _ in range(5))
    return BacklogReport(
        rows=rows,
        requests=len(times),
        most_rows=max(shares, default=0),
        median_ms=statistics.median(times) if times else 0.0,
        slowest_ms=max(times, default=0.0),
        after_ms=after,
        drained=left == 0,
    )
