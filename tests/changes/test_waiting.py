"""The long poll (docs/changes.md), on embedded and real backends: a wait that runs out, a
change that ends a wait, the bound on a tenant's waiting requests, and what a wait reads."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from support.api import Api, Reply
from support.threads import join_threads


def wait_in_thread(api: Api, query: str) -> tuple[threading.Thread, list[Reply]]:
    replies: list[Reply] = []
    thread = threading.Thread(target=lambda: replies.append(api.get(f"/changes{query}")))
    thread.start()
    return thread, replies


def test_a_wait_with_nothing_new_runs_out_and_keeps_the_cursor(api: Api) -> None:
    from chalicelib.db import database

    api.created("a.txt", "x")
    cursor = api.get("/changes/latest").json["next_cursor"]
    statements = database().statements
    started = time.monotonic()
    reply = api.get(f"/changes?cursor={cursor}&wait=2")
    elapsed = time.monotonic() - started
    assert reply.status == 200
    assert reply.json == {"items": [], "next_cursor": cursor}
    assert 2.0 <= elapsed < 4.0
    # Backoff, no busy loop: the first read, then one read per 0.25-1 s.
    assert 3 <= database().statements - statements <= 8


def test_a_change_ends_the_wait(api: Api, pause_points: Any) -> None:
    cursor = api.get("/changes/latest").json["next_cursor"]
    waiting = pause_points.arm("changes.waiting")
    thread, replies = wait_in_thread(api, f"?cursor={cursor}&wait=15")
    assert waiting.wait_reached(10), "the request never waited"
    waiting.release()
    started = time.monotonic()
    fid = api.created("new.txt", "x")["id"]
    join_threads(thread)
    assert time.monotonic() - started < 5  # not the whole 15 s
    assert replies[0].status == 200
    assert [(c["type"], c["file_id"]) for c in replies[0].json["items"]] == [("created", fid)]


def test_a_wait_without_a_cursor_starts_at_the_head(api: Api, pause_points: Any) -> None:
    waiting = pause_points.arm("changes.waiting")
    thread, replies = wait_in_thread(api, "?wait=15")
    assert waiting.wait_reached(10)
    waiting.release()
    api.created("first.txt", "x")
    join_threads(thread)
    assert [c["seq"] for c in replies[0].json["items"]] == [1]


def test_a_tenant_may_hold_only_so_many_waiting_requests(
    api: Api, other_api: Api, pause_points: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.changes import waiting as waiting_module

    monkeypatch.setattr(waiting_module, "WAITERS_PER_TENANT", 1)
    held = pause_points.arm("changes.waiting")
    thread, replies = wait_in_thread(api, "?wait=15")
    assert held.wait_reached(10)
    refused = api.get("/changes?wait=5")
    assert refused.status == 429, refused.body
    assert refused.headers["Retry-After"] == "5"
    assert refused.json["Code"] == "TooManyRequests"
    assert api.get("/changes").status == 200  # no wait: not a waiter
    assert other_api.get("/changes?wait=1").status == 200  # another tenant's own bound
    held.release()
    api.created("end.txt", "x")
    join_threads(thread)
    assert replies[0].status == 200
    assert len(replies[0].json["items"]) == 1
    head = api.get("/changes/latest").json["next_cursor"]
    assert api.get(f"/changes?cursor={head}&wait=1").status == 200  # the place was freed


def test_a_database_outage_while_waiting_is_a_503_and_frees_the_place(
    database_outage: Any, api: Api, pause_points: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.changes import waiting as waiting_module

    monkeypatch.setattr(waiting_module, "WAITERS_PER_TENANT", 1)
    cursor = api.get("/changes/latest").json["next_cursor"]  # the key is cached from here on
    held = pause_points.arm("changes.waiting")
    thread, replies = wait_in_thread(api, f"?cursor={cursor}&wait=10")
    assert held.wait_reached(10)
    database_outage.cut()
    held.release()
    join_threads(thread)
    assert replies[0].status == 503, replies[0].body
    assert int(replies[0].headers["Retry-After"]) > 0
    database_outage.restore()
    again = api.get(f"/changes?cursor={cursor}&wait=1")
    assert again.status == 200, "the waiter's place was given back"
    assert again.json == {"items": [], "next_cursor": cursor}
