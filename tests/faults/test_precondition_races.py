"""Preconditions under races, on the embedded drivers and on real PostgreSQL: a write under
If-Match is held after its check (racepoint `files.conditions.checked`) while another write
lands; its UPDATE or DELETE is conditioned on the version it checked, so it never changes a
file it did not check (docs/writes.md)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from support.api import Api, Reply
from support.threads import join_threads

JSON = {"content-type": "application/json"}


def in_thread(call: Callable[[], Reply]) -> tuple[threading.Thread, list[Reply]]:
    replies: list[Reply] = []
    thread = threading.Thread(target=lambda: replies.append(call()))
    thread.start()
    return thread, replies


def row(file_id: str) -> dict[str, Any] | None:
    from chalicelib.db import database

    rows = database().query("SELECT name, version FROM files WHERE id = :id", id=file_id)
    return dict(rows[0]) if rows else None


def rename(api: Api, file_id: str, name: str, if_match: str) -> Reply:
    body = json.dumps({"name": name})
    return api.call("PATCH", f"/files/{file_id}", body, {**JSON, "if-match": if_match})


def held(api: Api, pause_points: Any, call: Callable[[], Reply]) -> tuple[Any, Any, list[Reply]]:
    """`call` started and held right after its precondition passed."""
    pause = pause_points.arm("files.conditions.checked")
    thread, replies = in_thread(call)
    assert pause.wait_reached(10), "the write never checked its precondition"
    return pause, thread, replies


def test_a_rename_under_a_record_etag_loses_to_a_replace_landing_after_its_check(
    api: Api, pause_points: Any
) -> None:
    meta = api.created("race.txt", "one")
    pause, thread, replies = held(
        api, pause_points, lambda: rename(api, meta["id"], "renamed.txt", meta["record_etag"])
    )
    assert api.put(meta["id"], "two").status == 200  # version 2, after the rename's check
    pause.release()
    join_threads(thread)
    assert replies[0].status == 412, replies[0].body
    assert row(meta["id"]) == {"name": "race.txt", "version": 2}
    assert api.get(f"/files/{meta['id']}").text == "two"


def test_a_rename_under_a_body_etag_survives_a_rename_landing_after_its_check(
    api: Api, pause_points: Any
) -> None:
    """The body it guards did not change: checked again against the new version, it renames."""
    meta = api.created("first.txt", "same")
    pause, thread, replies = held(
        api, pause_points, lambda: rename(api, meta["id"], "guarded.txt", meta["etag"])
    )
    other = api.call("PATCH", f"/files/{meta['id']}", json.dumps({"name": "other.txt"}), JSON)
    assert other.status == 200
    pause.release()
    join_threads(thread)
    assert replies[0].status == 200, replies[0].body
    assert row(meta["id"]) == {"name": "guarded.txt", "version": 3}


def test_a_delete_under_a_body_etag_loses_to_a_replace_landing_after_its_check(
    api: Api, pause_points: Any
) -> None:
    meta = api.created("del.txt", "one")
    path = f"/files/{meta['id']}"
    pause, thread, replies = held(
        api, pause_points, lambda: api.call("DELETE", path, headers={"if-match": meta["etag"]})
    )
    assert api.put(meta["id"], "two").status == 200
    pause.release()
    join_threads(thread)
    assert replies[0].status == 412, replies[0].body
    assert api.get(path).text == "two"
    assert api.get("/trash").json["items"] == []


def test_a_delete_under_a_record_etag_loses_to_a_rename_landing_after_its_check(
    api: Api, pause_points: Any
) -> None:
    meta = api.created("del2.txt", "one")
    path = f"/files/{meta['id']}"
    pause, thread, replies = held(
        api,
        pause_points,
        lambda: api.call("DELETE", path, headers={"if-match": meta["record_etag"]}),
    )
    moved = api.call("PATCH", path, json.dumps({"name": "moved.txt"}), JSON)
    assert moved.status == 200
    pause.release()
    join_threads(thread)
    assert replies[0].status == 412, replies[0].body
    assert row(meta["id"]) == {"name": "moved.txt", "version": 2}
