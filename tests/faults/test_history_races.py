"""History under races, on the embedded drivers and on the real backends (docs/history.md): no
acknowledged version is lost or altered before it expires, a cached current body is never
served for an old version or the other way round, and version reads cost one statement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conftest import FakeClock
from support.api import Api, Reply
from support.threads import join_threads

DAY = 86_400


def in_thread(call: Callable[[], Reply]) -> tuple[Any, list[Reply]]:
    import threading

    replies: list[Reply] = []
    thread = threading.Thread(target=lambda: replies.append(call()))
    thread.start()
    return thread, replies


def bodies(api: Api, file_id: str) -> dict[int, str]:
    items = api.get(f"/files/{file_id}/versions").json["items"]
    return {v["version"]: api.get(f"/files/{file_id}/versions/{v['version']}").text for v in items}


def owned_keys(file_id: str) -> set[str]:
    from chalicelib.db import database

    rows = database().query("SELECT blob_key FROM file_versions WHERE file_id = :id", id=file_id)
    return {str(r["blob_key"]) for r in rows}


def stored_keys(api: Api, file_id: str) -> set[str]:
    from chalicelib.blobs import blobs
    from chalicelib.tenants import apikeys

    tenant = apikeys.lookup(apikeys.hash_key(str(api.key)))
    assert tenant is not None
    return {b.key for b in blobs().list(f"tenants/{tenant.id}/files/{file_id}/")}


def test_replace_vs_replace_keeps_both_bodies_as_versions(api: Api, pause_points: Any) -> None:
    meta = api.created("rr.txt", "one")
    pause = pause_points.arm("files.replace.switching")
    thread, replies = in_thread(lambda: api.put(meta["id"], "slow"))
    assert pause.wait_reached(10)
    assert api.put(meta["id"], "fast").status == 200
    pause.release()
    join_threads(thread)
    assert replies[0].status == 200
    assert replies[0].json["version"] == 3
    assert bodies(api, meta["id"]) == {3: "slow", 2: "fast", 1: "one"}


def test_replace_vs_replace_with_if_match_loses_cleanly(api: Api, pause_points: Any) -> None:
    meta = api.created("rm.txt", "one")
    pause = pause_points.arm("files.replace.switching")
    thread, replies = in_thread(lambda: api.put(meta["id"], "slow", {"if-match": meta["etag"]}))
    assert pause.wait_reached(10)
    assert api.put(meta["id"], "fast").status == 200
    pause.release()
    join_threads(thread)
    assert replies[0].status == 412
    assert bodies(api, meta["id"]) == {2: "fast", 1: "one"}
    assert stored_keys(api, meta["id"]) == owned_keys(meta["id"])  # the loser's body is gone


def test_restore_vs_replace(api: Api, pause_points: Any) -> None:
    meta = api.created("rv.txt", "one")
    two = api.put(meta["id"], "two").json
    pause = pause_points.arm("history.restore.copy", times=2)
    path = f"/files/{meta['id']}/versions/1/restore"
    guarded, g_replies = in_thread(
        lambda: api.call("POST", path, headers={"if-match": two["etag"]})
    )
    assert pause.wait_reached(10)
    free, f_replies = in_thread(lambda: api.call("POST", path))
    assert api.put(meta["id"], "three").status == 200
    pause.release()
    join_threads(guarded, free)
    assert g_replies[0].status == 412  # If-Match named version 2's body
    assert f_replies[0].status == 200, f_replies[0].body
    assert f_replies[0].json["version"] == 4
    assert bodies(api, meta["id"]) == {4: "one", 3: "three", 2: "two", 1: "one"}
    assert stored_keys(api, meta["id"]) == owned_keys(meta["id"])


def test_delete_vs_restore_of_a_version(api: Api, pause_points: Any) -> None:
    meta = api.created("dv.txt", "one")
    api.put(meta["id"], "two")
    pause = pause_points.arm("history.restore.copy")
    thread, replies = in_thread(lambda: api.call("POST", f"/files/{meta['id']}/versions/1/restore"))
    assert pause.wait_reached(10)
    assert api.delete(meta["id"]).status == 204
    pause.release()
    join_threads(thread)
    assert replies[0].status == 404
    assert api.get("/trash").json["items"][0]["version"] == 2
    assert stored_keys(api, meta["id"]) == owned_keys(meta["id"])  # the copy was dropped
    back = api.call("POST", f"/trash/{meta['id']}/restore").json
    assert back["version"] == 3
    assert bodies(api, meta["id"]) == {3: "two", 2: "two", 1: "one"}


def test_restore_vs_permanent_delete_from_the_trash(api: Api, pause_points: Any) -> None:
    meta = api.created("dt.txt", "one")
    api.delete(meta["id"])
    pause = pause_points.arm("history.trash.restore")
    thread, replies = in_thread(lambda: api.call("POST", f"/trash/{meta['id']}/restore"))
    assert pause.wait_reached(10)
    assert api.call("DELETE", f"/trash/{meta['id']}").status == 204
    pause.release()
    join_threads(thread)
    assert replies[0].status == 404
    assert api.get(f"/files/{meta['id']}").status == 404
    assert owned_keys(meta["id"]) == set()


def run_purge() -> None:
    from chalicelib.tasks import TaskContext
    from chalicelib.tasks.kinds import purge

    ctx = TaskContext("purge", None, {}, 0, None)
    while (step := purge.step(ctx)).result is None:
        ctx = TaskContext("purge", None, step.checkpoint, step.done, step.total)


def test_purge_vs_restore_from_the_trash(
    api: Api, clock: FakeClock, pause_points: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = api.created("pt.txt", "one")
    api.delete(meta["id"])
    clock.advance(30 * DAY - 10)
    pause = pause_points.arm("history.trash.restore")
    thread, replies = in_thread(lambda: api.call("POST", f"/trash/{meta['id']}/restore"))
    assert pause.wait_reached(10)
    clock.advance(20)  # the trash entry expires while the restore holds it
    run_purge()
    pause.release()
    join_threads(thread)
    assert replies[0].status == 404
    assert api.get(f"/files/{meta['id']}").status == 404
    assert owned_keys(meta["id"]) == set()
    assert stored_keys(api, meta["id"]) == set()


def test_purge_vs_restore_of_a_version(api: Api, clock: FakeClock, pause_points: Any) -> None:
    meta = api.created("pv.txt", "one")
    clock.advance(1 * DAY)
    api.put(meta["id"], "two")  # version 1 expires 31 days from the start
    clock.advance(19 * DAY)
    api.put(meta["id"], "three")
    clock.advance(10 * DAY)
    pause = pause_points.arm("history.restore.copy")
    thread, replies = in_thread(lambda: api.call("POST", f"/files/{meta['id']}/versions/1/restore"))
    assert pause.wait_reached(10)
    clock.advance(2 * DAY)
    run_purge()
    pause.release()
    join_threads(thread)
    assert replies[0].status == 404
    assert bodies(api, meta["id"]) == {3: "three", 2: "two"}
    assert stored_keys(api, meta["id"]) == owned_keys(meta["id"])


def test_a_cached_current_body_is_never_served_for_an_old_version_or_back(api: Api) -> None:
    from chalicelib.cache import cache
    from chalicelib.files import filecache

    meta = api.created("cc.txt", "one")
    assert api.get(f"/files/{meta['id']}").text == "one"  # cached
    api.put(meta["id"], "two")
    assert api.get(f"/files/{meta['id']}").text == "two"
    assert api.get(f"/files/{meta['id']}/versions/1").text == "one"
    assert api.get(f"/files/{meta['id']}/versions/2").text == "two"
    restored = api.call("POST", f"/files/{meta['id']}/versions/1/restore").json
    assert api.get(f"/files/{meta['id']}").text == "one"
    assert api.get(f"/files/{meta['id']}").headers["ETag"] == restored["etag"]
    assert api.get(f"/files/{meta['id']}/versions/2").text == "two"
    api.delete(meta["id"])
    assert cache().get_many([filecache.meta_key(meta["id"])])[filecache.meta_key(meta["id"])] == (
        filecache.tombstone(3)
    )
    assert api.get(f"/files/{meta['id']}").status == 404
    back = api.call("POST", f"/trash/{meta['id']}/restore").json
    assert back["version"] == 4
    assert api.get(f"/files/{meta['id']}").text == "one"  # the restore replaced the tombstone
    assert api.get(f"/files/{meta['id']}/metadata").json["version"] == 4


def _statements(call: Callable[[], Reply]) -> int:
    from chalicelib.db import database

    before = database().statements
    reply = call()
    assert reply.status in (200, 201, 204), reply.body
    return database().statements - before


def test_reads_cost_what_they_cost_and_version_reads_one_statement(api: Api, backend: str) -> None:
    """The counts bench/ reports: history adds none to a current read or a list; a version
    read is one statement; a write adds only its version rows."""
    from chalicelib.cache import cache
    from chalicelib.files import filecache

    meta = api.created("sc.txt", "one")
    fid = meta["id"]
    # Was 9: + 1 (supersede + insert - garbage); + the change feed's record (docs/changes.md):
    # 1 statement on PostgreSQL, 2 on SQLite.
    assert _statements(lambda: api.put(fid, "two")) <= 10 + (1 if backend == "real" else 2)
    api.get(f"/files/{fid}")
    assert _statements(lambda: api.get(f"/files/{fid}")) == 0
    assert _statements(lambda: api.get("/files")) == 1
    cache().delete_many([filecache.meta_key(fid), filecache.body_key(fid)])
    assert _statements(lambda: api.get(f"/files/{fid}")) == 1
    for path in ("/versions", "/versions/1", "/versions/1/metadata", "/diff?from=1&to=2"):
        assert _statements(lambda p=path: api.get(f"/files/{fid}{p}")) == 1, path  # type: ignore[misc]
    # Writes also keep the tenant's counters (docs/scale.md): one statement per counted change.
    writes = {
        # was 6 (7 with history): + the version row; the quota reads counters now, and the
        # file and its version are counted
        "create": _statements(lambda: api.create("sd.txt", "x")),
        # was 3: + supersede + insert (a rename's version shares its body: nothing to count)
        "rename": _statements(lambda: api.rename(fid, "se.txt")),
        # was 5: trash row + supersede, no garbage; + the file and the trash counted
        "delete": _statements(lambda: api.delete(fid)),
    }
    # + the change feed (docs/changes.md): its record, 1 statement on PostgreSQL and 2 on
    # SQLite; a rename and a delete also take the tenant's lock first (the order every write
    # takes: a delete taking the file's row first deadlocked a replace).
    feed = 1 if backend == "real" else 2
    assert writes == {"create": 8 + feed, "rename": 5 + 1 + feed, "delete": 7 + 1 + feed}
