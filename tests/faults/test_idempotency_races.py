"""Idempotency keys under real concurrency, on real PostgreSQL: each thread claims through a
database session of its own, as separate Lambda instances do, and all of them are let go at
the claim at once. The INSERT that conflicts on (tenant, key) lets exactly one run."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from support.api import Api, Reply
from support.threads import join_threads

THREADS = 8
REPLAYED = "Idempotent-Replayed"


@pytest.fixture
def own_sessions(backend: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The idempotency store on one PostgreSQL session per thread (each its own server
    process); the rest of the app keeps its own."""
    from chalicelib.db import postgres_settings
    from chalicelib.db.postgres import PostgresDatabase
    from chalicelib.idempotency import store

    opened: list[Any] = []
    local = threading.local()

    def session() -> Any:
        if not hasattr(local, "db"):
            local.db = PostgresDatabase(postgres_settings(os.environ["DATABASE_URL"]))
            opened.append(local.db)
        return local.db

    monkeypatch.setattr(store, "_db", session)
    yield opened
    for db in opened:
        db.close()


@pytest.mark.parametrize("backend", ["real"], indirect=True)
def test_concurrent_creates_with_one_key_on_their_own_sessions_make_one_file(
    api: Api, pause_points: Any, own_sessions: list[Any]
) -> None:
    pause = pause_points.arm("idempotency.claiming", times=THREADS)
    replies: list[Reply] = []
    headers = {"idempotency-key": "one-of-eight"}

    def create() -> None:
        replies.append(api.create("race.txt", "the body", headers))

    threads = [threading.Thread(target=create) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for _ in range(400):
        if pause.arrivals == THREADS:
            break
        threading.Event().wait(0.05)
    assert pause.arrivals == THREADS  # every request is at the claim, none has claimed
    pause.release()
    join_threads(*threads)
    assert len({id(db) for db in own_sessions}) == THREADS
    ran = [r for r in replies if r.status == 201 and REPLAYED not in r.headers]
    assert len(ran) == 1, [(r.status, r.body) for r in replies]
    for other in replies:
        if other is not ran[0]:
            assert other.status in (201, 409), other.body
            if other.status == 409:
                assert other.json["Code"] == "IdempotencyKeyInUse"
                assert int(other.headers["Retry-After"]) >= 1
            else:
                assert other.headers[REPLAYED] == "true" and other.json == ran[0].json
    listed = api.get("/files").json["items"]
    assert [item["name"] for item in listed] == ["race.txt"]
