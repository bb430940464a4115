"""Exactly once, in order (docs/changes.md), on real PostgreSQL with writers in separate
processes (each `chalice local` has its own connection, as each Lambda instance does): a
change numbered but not yet committed holds back every later one, and under concurrent
writers of one tenant a reader following the feed sees every acknowledged write exactly
once, numbered without a gap, in commit order."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from support.api import Api
from support.chalice_local import ChaliceLocal
from support.net import ServerUnavailable, unavailable
from support.threads import join_threads

pytestmark = pytest.mark.parametrize("backend", ["real"], indirect=True)


def servers(count: int) -> Iterator[list[ChaliceLocal]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA")}
    started = [ChaliceLocal(env) for _ in range(count)]
    try:
        for server in started:
            server.start()
        yield started
    except ServerUnavailable as exc:
        unavailable("chalice local", str(exc))
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def two_servers(backend: str) -> Iterator[list[ChaliceLocal]]:
    yield from servers(2)


@pytest.fixture
def three_servers(backend: str) -> Iterator[list[ChaliceLocal]]:
    yield from servers(3)


def call(
    base: str, key: str, method: str, path: str, body: bytes = b"", ctype: str = "text/plain"
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    data = body if method in ("POST", "PUT", "PATCH") else None
    if data is not None:
        headers["Content-Type"] = ctype
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return int(response.status), json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_a_numbered_uncommitted_change_holds_back_every_later_one(
    api: Api, two_servers: list[ChaliceLocal], pause_points: Any
) -> None:
    """The classic gap: a number taken before commit, a later number committed first, a reader
    passing the first. Here the first write is held after it took number 1, inside its
    transaction; another process's write waits for it, and a reader sees neither."""
    writer, reader = (server.base for server in two_servers)
    key = str(api.key)
    start = api.get("/changes/latest").json["next_cursor"]
    held = pause_points.arm("changes.numbered")
    first: list[Any] = []
    t1 = threading.Thread(target=lambda: first.append(api.created("first.txt", "1")))
    t1.start()
    assert held.wait_reached(10), "the first write never numbered its change"
    second: list[tuple[int, Any]] = []
    t2 = threading.Thread(
        target=lambda: second.append(call(writer, key, "POST", "/files?name=second.txt", b"2"))
    )
    t2.start()
    time.sleep(1.0)
    assert t2.is_alive(), "the second write committed while the first held number 1"
    status, page = call(reader, key, "GET", f"/changes?cursor={start}")
    assert status == 200, page
    assert page["items"] == []
    held.release()
    join_threads(t1, t2)
    assert second[0][0] == 201
    status, page = call(reader, key, "GET", f"/changes?cursor={start}")
    assert [(c["seq"], c["file_id"]) for c in page["items"]] == [
        (1, first[0]["id"]),
        (2, second[0][1]["id"]),
    ]


def write_many(base: str, key: str, worker: int, rounds: int, acked: list[tuple[str, int]]) -> None:
    """Create a file, then replace and rename it in turn; every acknowledged write recorded as
    (file id, version)."""
    status, meta = call(base, key, "POST", f"/files?name=w{worker}-0.txt", b"0")
    assert status == 201, meta
    acked.append((meta["id"], meta["version"]))
    for n in range(1, rounds):
        if n % 3 == 0:
            body = json.dumps({"name": f"w{worker}-{n}.txt"}).encode()
            status, meta = call(
                base, key, "PATCH", f"/files/{meta['id']}", body, "application/json"
            )
        else:
            status, meta = call(base, key, "PUT", f"/files/{meta['id']}", str(n).encode())
        assert status == 200, meta
        acked.append((meta["id"], meta["version"]))


def follow(api: Api, done: threading.Event, seen: list[dict[str, Any]]) -> None:
    """Follow the feed with long polls until the writers are done and the feed is drained."""
    cursor = api.get("/changes/latest").json["next_cursor"]
    while True:
        finished = done.is_set()
        reply = api.get(f"/changes?cursor={cursor}&limit=7&wait={0 if finished else 1}")
        assert reply.status == 200, reply.body
        seen.extend(reply.json["items"])
        cursor = reply.json["next_cursor"]
        if finished and not reply.json["items"]:
            return


def test_concurrent_writers_of_one_tenant_are_followed_exactly_once_in_order(
    api: Api, three_servers: list[ChaliceLocal]
) -> None:
    key, workers, rounds = str(api.key), 6, 12
    acked: list[tuple[str, int]] = []
    seen: list[dict[str, Any]] = []
    done = threading.Event()
    reader = threading.Thread(target=follow, args=(api, done, seen))
    reader.start()
    writers = [
        threading.Thread(target=write_many, args=(three_servers[i % 3].base, key, i, rounds, acked))
        for i in range(workers)
    ]
    for thread in writers:
        thread.start()
    join_threads(*writers, timeout=240)
    done.set()
    join_threads(reader)
    assert len(acked) == workers * rounds
    seqs = [c["seq"] for c in seen]
    assert seqs == list(range(1, len(acked) + 1)), "a gap, a duplicate or out of order"
    assert sorted((c["file_id"], c["version"]) for c in seen) == sorted(acked)
    by_file: dict[str, list[int]] = {}
    for change in seen:
        by_file.setdefault(change["file_id"], []).append(change["version"])
    assert all(versions == list(range(1, rounds + 1)) for versions in by_file.values())
