"""Races and restarts, on the embedded drivers and on the real backends: a reader overlapping
a writer, old bodies kept for a grace period and then collected, strong If-Match, task
leases taken over, in-process tasks resumed after a restart, and errors a tenant may see."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import FakeClock, moto_client, reset_drivers
from support.api import Api, Reply
from support.moto import AWS_ENV, MotoServer
from support.threads import join_threads


@pytest.fixture
def storage_reads(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    """Bodies are never served from the cache: every GET reads the blob store."""
    monkeypatch.setenv("CACHE_BODY_MAX_BYTES", "0")


def blob_key(file_id: str) -> str:
    from chalicelib.db import database

    key: str = database().query("SELECT blob_key FROM files WHERE id = :id", id=file_id)[0][
        "blob_key"
    ]
    return key


def exists(key: str) -> bool:
    from chalicelib.blobs import BlobMissing, blobs

    try:
        blobs().head(key)
    except BlobMissing:
        return False
    return True


def get_in_thread(api: Api, path: str) -> tuple[threading.Thread, list[Reply]]:
    replies: list[Reply] = []
    thread = threading.Thread(target=lambda: replies.append(api.get(path)))
    thread.start()
    return thread, replies


# --- item 6: a GET that overlaps a PUT -------------------------------------------------------


def test_a_get_overlapping_a_put_reads_the_old_body_kept_for_the_grace_period(
    api: Api, storage_reads: None, pause_points: Any
) -> None:
    meta = api.created("overlap.txt", "old body")
    pause = pause_points.arm("files.read.body_missed")
    thread, replies = get_in_thread(api, f"/files/{meta['id']}")
    assert pause.wait_reached(10), "the GET never loaded the row"
    assert api.put(meta["id"], "new body").status == 200  # while the GET holds the old row
    pause.release()
    join_threads(thread)
    assert (replies[0].status, replies[0].text) == (200, "old body")


def test_a_get_whose_body_was_collected_follows_the_row_to_the_new_body(
    api: Api, storage_reads: None, pause_points: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GARBAGE_GRACE_SECONDS", "0")  # the PUT itself collects the old body:
    monkeypatch.setenv("MAX_VERSIONS_PER_FILE", "1")  # no history kept
    meta = api.created("collected.txt", "old body")
    old_key = blob_key(meta["id"])
    pause = pause_points.arm("files.read.body_missed")
    thread, replies = get_in_thread(api, f"/files/{meta['id']}")
    assert pause.wait_reached(10)
    assert api.put(meta["id"], "new body").status == 200
    assert not exists(old_key)
    pause.release()
    join_threads(thread)
    assert (replies[0].status, replies[0].text) == (200, "new body")
    assert replies[0].headers["ETag"] == api.get(f"/files/{meta['id']}/metadata").json["etag"]


def test_a_get_overlapping_a_delete_reads_the_body_it_began_with_and_then_404(
    api: Api, storage_reads: None, pause_points: Any
) -> None:
    """The body of a trashed file is kept (docs/history.md): a GET that loaded the row before
    the delete answers with it, as if it had finished first; every GET after is 404."""
    meta = api.created("deleted.txt", "bye")
    pause = pause_points.arm("files.read.body_missed")
    thread, replies = get_in_thread(api, f"/files/{meta['id']}")
    assert pause.wait_reached(10)
    assert api.delete(meta["id"]).status == 204
    assert api.get(f"/files/{meta['id']}").status == 404
    pause.release()
    join_threads(thread)
    assert (replies[0].status, replies[0].text) == (200, "bye")


def test_a_get_overlapping_a_permanent_delete_is_404(
    api: Api, storage_reads: None, pause_points: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GARBAGE_GRACE_SECONDS", "0")
    meta = api.created("deleted.txt", "bye")
    pause = pause_points.arm("files.read.body_missed")
    thread, replies = get_in_thread(api, f"/files/{meta['id']}")
    assert pause.wait_reached(10)
    assert api.delete(meta["id"]).status == 204
    assert api.call("DELETE", f"/trash/{meta['id']}").status == 204  # collects the body at once
    pause.release()
    join_threads(thread)
    assert replies[0].status == 404


# --- the collector ---------------------------------------------------------------------------


def test_old_bodies_are_kept_for_the_grace_period_then_collected(
    api: Api, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.files import orphans

    monkeypatch.setenv("GARBAGE_GRACE_SECONDS", "600")
    monkeypatch.setenv("MAX_VERSIONS_PER_FILE", "1")  # a replace drops the old version
    meta = api.created("kept.txt", "v1")
    first = blob_key(meta["id"])
    api.put(meta["id"], "v2")
    second = blob_key(meta["id"])
    deleted = api.created("deleted.txt", "bye")
    deleted_key = blob_key(deleted["id"])
    assert api.delete(deleted["id"]).status == 204
    assert api.call("DELETE", f"/trash/{deleted['id']}").status == 204
    assert exists(first) and exists(deleted_key)

    clock.advance(601)
    assert api.put(meta["id"], "v3").status == 200  # a write collects what is due
    assert not exists(first) and not exists(deleted_key)
    assert exists(second)  # not due yet
    clock.advance(601)
    while orphans.collect(100):
        pass
    assert not exists(second)
    assert api.get(f"/files/{meta['id']}").text == "v3"


def test_the_collector_never_deletes_a_body_a_row_references(api: Api, clock: FakeClock) -> None:
    from chalicelib.db import database
    from chalicelib.files import orphans

    meta = api.created("live.txt", "alive")
    key = blob_key(meta["id"])
    db = database()
    with db.transaction():
        orphans.record([key], clock.now, grace=False)
    while orphans.collect(100):
        pass
    assert exists(key)
    assert api.get(f"/files/{meta['id']}").text == "alive"
    assert not db.query("SELECT blob_key FROM garbage WHERE blob_key = :k", k=key)


def run_purge() -> None:
    from chalicelib.tasks import TaskContext
    from chalicelib.tasks.kinds import purge

    ctx = TaskContext("purge", None, {}, 0, None)
    while (step := purge.step(ctx)).result is None:
        ctx = TaskContext("purge", None, step.checkpoint, step.done, step.total)


def test_the_purge_waits_a_day_for_orphans_and_leaves_garbage_to_the_collector(
    api: Api, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An object no row points at may belong to a write still under way or whose outcome was
    unknown: it waits a day. A body recorded as garbage waits for its own due time."""
    from chalicelib.blobs import blobs

    monkeypatch.setenv("GARBAGE_GRACE_SECONDS", str(3 * 86_400))
    young = f"tenants/{_tenant_of(api)}/files/{uuid.uuid4().hex}/{uuid.uuid4().hex}"
    blobs().put(young, b"maybe committed")
    meta = api.created("pending.txt", "pending")
    pending = blob_key(meta["id"])
    assert api.delete(meta["id"]).status == 204
    assert api.call("DELETE", f"/trash/{meta['id']}").status == 204

    clock.advance(7200)
    run_purge()
    assert exists(young) and exists(pending)
    clock.advance(86_400)
    run_purge()
    assert not exists(young)
    assert exists(pending)  # recorded as garbage, not due yet
    clock.advance(3 * 86_400)
    run_purge()
    assert not exists(pending)


def _tenant_of(api: Api) -> str:
    from chalicelib.tenants import apikeys

    tenant = apikeys.lookup(apikeys.hash_key(str(api.key)))
    assert tenant is not None
    return tenant.id


# --- If-Match compares strongly ---------------------------------------------------------------


def test_if_match_never_accepts_a_weak_etag_if_none_match_does(api: Api) -> None:
    meta = api.created("etag.txt", "v1")
    weak = f"W/{meta['etag']}"
    refused = api.put(meta["id"], "v2", {"if-match": weak})
    assert refused.status == 412, refused.body
    assert api.get(f"/files/{meta['id']}").text == "v1"
    assert api.get(f"/files/{meta['id']}", {"if-none-match": weak}).status == 304
    assert api.put(meta["id"], "v2", {"if-match": meta["etag"]}).status == 200


# --- tasks: leases, errors, restarts ---------------------------------------------------------


@pytest.fixture
def sqs_queue(moto: MotoServer, backend: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Task messages go to a queue of the test's own on moto; the test delivers them."""
    client = moto_client("sqs", moto.endpoint)
    url: str = client.create_queue(QueueName=f"textfiles-races-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    for key, value in {**AWS_ENV, "AWS_ENDPOINT_URL": moto.endpoint, "QUEUE_URL": url}.items():
        monkeypatch.setenv(key, value)
    reset_drivers()
    yield url
    reset_drivers()


class Budget:
    def __init__(self, ms: int = 60_000) -> None:
        self.ms = ms

    def get_remaining_time_in_millis(self) -> int:
        return self.ms


def _register_once() -> None:
    from chalicelib import tasks

    def once(ctx: tasks.TaskContext) -> tasks.Step:
        return tasks.Step({}, 1, 1, "done", {"ok": True})

    tasks.register("test-once", tasks.Kind(step=once))


def test_a_task_whose_lease_ended_is_taken_over_and_a_live_lease_defers_the_message(
    api: Api, sqs_queue: str, clock: FakeClock
) -> None:
    from chalicelib import tasks
    from chalicelib.db import database
    from chalicelib.tasks.outbox import message
    from chalicelib.tasks.worker import handle

    _register_once()
    task = tasks.create(_tenant_of(api), "test-once")
    # A delivery claimed it and died (its reply lost, its process gone): a lease, no worker.
    database().execute(
        "UPDATE tasks SET state = 'running', lease_token = 'dead', lease_until = :u WHERE id = :id",
        u=clock.now + 30_000_000,
        id=task.id,
    )
    delivery = tasks.Delivery(message(task.id, 0), "receipt")
    outcome = handle(delivery, Budget())  # not acknowledged: it comes back when the lease ends
    assert (outcome.action, outcome.delay_s) == ("retry", 31)
    assert api.get(f"/tasks/{task.id}").json["state"] == "running"
    clock.advance(31)
    assert handle(delivery, Budget()).acknowledged
    shown = api.get(f"/tasks/{task.id}").json
    assert shown["state"] == "succeeded", shown


def test_a_task_error_is_a_stable_sentence_without_internal_text(
    api: Api, sqs_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import tasks
    from chalicelib.tasks.outbox import message
    from chalicelib.tasks.worker import handle

    monkeypatch.setenv("TASK_MAX_ATTEMPTS", "1")

    def explode(ctx: tasks.TaskContext) -> tasks.Step:
        raise KeyError("/var/task/chalicelib/secret_internal.py: row 42 of table x")

    tasks.register("test-internal-error", tasks.Kind(step=explode))
    task = tasks.create(_tenant_of(api), "test-internal-error")
    outcome = handle(tasks.Delivery(message(task.id, 0), "receipt"), Budget())
    assert outcome.action == "dead_letter"
    shown = api.get(f"/tasks/{task.id}").json
    assert shown["state"] == "failed"
    assert shown["error"] == tasks.INTERNAL_ERROR
    assert "secret_internal" not in json.dumps(shown) and "KeyError" not in json.dumps(shown)


def test_in_process_tasks_resume_after_a_restart(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run` stopped after a task's message was sent to the in-process queue, before it
    ran: the next process runs it."""
    from chalicelib.queue import memory, queue

    monkeypatch.delenv("QUEUE_URL", raising=False)
    reset_drivers()
    _register_once()
    api.created("one.txt", "1")
    with monkeypatch.context() as lost:
        lost.setattr(memory.InlineQueue, "send", lambda self, body, delay_s=0: None)
        started = api.call("POST", "/exports")
        assert started.status == 202
    task_id = started.json["id"]
    assert api.get(f"/tasks/{task_id}").json["state"] == "queued"
    reset_drivers()  # the process ends; its in-memory messages with it

    assert api.get(f"/tasks/{task_id}").status == 200  # the next process's first task call
    assert queue().drain(30)  # type: ignore[attr-defined]
    assert api.get(f"/tasks/{task_id}").json["state"] == "succeeded"
