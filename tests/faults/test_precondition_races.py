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


# --- PUT /names/{name}: two writers of one new name -------------------------------------------


def both_past_the_lookup(api: Api, pause_points: Any, headers: dict[str, str]) -> list[Reply]:
    """Two PUTs of one name, both held after finding no file of that name, then let go."""
    import time

    pause = pause_points.arm("files.names.looked_up", times=2)
    threads, replies = [], []
    for body in ("first", "second"):
        thread, got = in_thread(
            lambda body=body: api.call(  # type: ignore[misc]
                "PUT", "/names/same.txt", body, {"content-type": "text/plain", **headers}
            )
        )
        threads.append(thread)
        replies.append(got)
    deadline = time.monotonic() + 10
    while pause.arrivals < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pause.arrivals == 2, "both writers should have looked the name up"
    pause.release()
    join_threads(*threads)
    return [got[0] for got in replies]


def test_two_create_only_puts_of_one_name_exactly_one_wins(api: Api, pause_points: Any) -> None:
    replies = both_past_the_lookup(api, pause_points, {"if-none-match": "*"})
    assert sorted(r.status for r in replies) == [201, 412], [r.body for r in replies]
    winner = next(r for r in replies if r.status == 201)
    assert api.get("/names/same.txt").body.decode() in ("first", "second")
    assert api.get("/names/same.txt").headers["ETag"] == winner.json["etag"]
    items = api.get("/files").json["items"]
    assert [(i["name"], i["version"]) for i in items] == [("same.txt", 1)]


def test_two_plain_puts_of_one_name_make_one_file_with_two_versions(
    api: Api, pause_points: Any
) -> None:
    replies = both_past_the_lookup(api, pause_points, {})
    assert sorted(r.status for r in replies) == [200, 201], [r.body for r in replies]
    assert replies[0].json["id"] == replies[1].json["id"]
    items = api.get("/files").json["items"]
    assert [(i["name"], i["version"]) for i in items] == [("same.txt", 2)]


def test_a_put_by_name_never_writes_the_file_renamed_away_meanwhile(
    api: Api, pause_points: Any
) -> None:
    """Found by its name, then renamed before the write: the name is looked up again, and the
    body goes to a new file of that name, never to the renamed one."""
    meta = api.created("moving.txt", "original")
    pause = pause_points.arm("files.names.looked_up")
    thread, replies = in_thread(
        lambda: api.call("PUT", "/names/moving.txt", "new", {"content-type": "text/plain"})
    )
    assert pause.wait_reached(10)
    moved = api.call("PATCH", f"/files/{meta['id']}", json.dumps({"name": "moved.txt"}), JSON)
    assert moved.status == 200
    pause.release()
    join_threads(thread)
    assert replies[0].status == 201, replies[0].body
    assert replies[0].json["id"] != meta["id"]
    assert api.get(f"/files/{meta['id']}").text == "original"
    assert api.get("/names/moving.txt").text == "new"


def test_a_replace_under_a_record_etag_loses_to_a_rename_landing_before_its_switch(
    api: Api, pause_points: Any
) -> None:
    """The body's switch is conditioned on the version too: a rename in between is a 412 for a
    record ETag (a body ETag would have passed: the body is the same)."""
    meta = api.created("rec.txt", "one")
    pause = pause_points.arm("files.replace.switching")
    headers = {"content-type": "text/plain", "if-match": meta["record_etag"]}
    thread, replies = in_thread(lambda: api.call("PUT", f"/files/{meta['id']}", "two", headers))
    assert pause.wait_reached(10)
    moved = api.call("PATCH", f"/files/{meta['id']}", json.dumps({"name": "rec2.txt"}), JSON)
    assert moved.status == 200
    pause.release()
    join_threads(thread)
    assert replies[0].status == 412, replies[0].body
    assert api.get(f"/files/{meta['id']}").text == "one"
    assert row(meta["id"]) == {"name": "rec2.txt", "version": 2}


def test_a_guarded_put_by_name_never_writes_the_file_renamed_away_meanwhile(
    api: Api, pause_points: Any
) -> None:
    """If-Match with the body's ETag still holds for the renamed file, but the name no longer
    names it: looked up again, the name holds nothing, and If-Match on nothing is a 412."""
    meta = api.created("guarded-move.txt", "original")
    pause = pause_points.arm("files.names.looked_up")
    headers = {"content-type": "text/plain", "if-match": meta["etag"]}
    thread, replies = in_thread(lambda: api.call("PUT", "/names/guarded-move.txt", "new", headers))
    assert pause.wait_reached(10)
    moved = api.call("PATCH", f"/files/{meta['id']}", json.dumps({"name": "away.txt"}), JSON)
    assert moved.status == 200
    pause.release()
    join_threads(thread)
    assert replies[0].status == 412, replies[0].body
    assert api.get(f"/files/{meta['id']}").text == "original"
    assert api.get("/names/guarded-move.txt").status == 404
