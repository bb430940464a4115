"""Background tasks: the SQS worker (moto's server, real boto3), exports, cancel, retries,
the dead-letter queue, the relay of unsent tasks, the in-process queue and the daily purge."""

from __future__ import annotations

import base64
import io
import json
import os
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from chalice.test import Client

from app import app
from conftest import FakeClock, moto_client, reset_drivers
from support.api import Api
from support.moto import AWS_ENV, MotoServer
from support.net import free_port

TERMINAL = {"succeeded", "failed", "cancelled"}
MAX_RECEIVES = 4


# --- helpers -------------------------------------------------------------------------------


class CountdownContext:
    """Lambda's context, with a remaining time that drops at every question (not with the
    clock), so that an invocation "runs out of time" after a few steps, deterministically."""

    def __init__(
        self,
        start_ms: int = 6000,
        per_call_ms: int = 1000,
        on_call: Callable[[int], None] | None = None,
    ) -> None:
        self.left = start_ms
        self.per_call_ms = per_call_ms
        self.calls = 0
        self.on_call = on_call

    def get_remaining_time_in_millis(self) -> int:
        self.calls += 1
        if self.on_call is not None:
            self.on_call(self.calls)
        self.left -= self.per_call_ms
        return max(0, self.left)


@dataclass
class Sqs:
    """A fresh task queue with its dead-letter queue, on moto's server."""

    client: Any
    url: str
    dlq_url: str
    handled: list[str] = field(default_factory=list)

    def messages(self, url: str) -> list[dict[str, Any]]:
        reply = self.client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=0
        )
        return list(reply.get("Messages", []))

    def deliver(self, context: Any = None) -> bool:
        """What Lambda's event source does with one message: call the function; on success
        delete the message, on an exception leave it to SQS. False when the queue is empty."""
        from chalicelib.queue.sqs import lambda_record

        reply = self.client.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=1, WaitTimeSeconds=0, AttributeNames=["All"]
        )
        if not reply.get("Messages"):
            return False
        record = lambda_record(reply["Messages"][0], self.url)
        self.handled.append(record["body"])
        try:
            app.handler_map["task_worker"]({"Records": [record]}, context or CountdownContext())
        except Exception:  # noqa: BLE001 - Lambda leaves a failed message to SQS
            return True
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=record["receiptHandle"])
        return True


@pytest.fixture
def sqs(moto: MotoServer, backend: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sqs]:
    client = moto_client("sqs", moto.endpoint)
    name = f"textfiles-tasks-{uuid.uuid4().hex[:8]}"
    dlq_url = client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)}
    url = client.create_queue(
        QueueName=name,
        Attributes={"RedrivePolicy": json.dumps(redrive), "VisibilityTimeout": "30"},
    )["QueueUrl"]
    for key, value in {**AWS_ENV, "AWS_ENDPOINT_URL": moto.endpoint, "QUEUE_URL": url}.items():
        monkeypatch.setenv(key, value)
    reset_drivers()
    yield Sqs(client, url, dlq_url)
    reset_drivers()


@pytest.fixture(autouse=True)
def task_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "TASK_BACKOFF_BASE_SECONDS": "0",
        "TASK_MARGIN_MS": "1000",
        "TASK_SAFETY_FACTOR": "3",
        "TASK_MAX_ATTEMPTS": "3",
        "EXPORT_BATCH_FILES": "20",
        "EXPORT_PART_BYTES": "65536",  # S3 raises it to its 5 MiB minimum
    }.items():
        monkeypatch.setenv(name, value)


def make_files(api: Api, count: int, big: int = 0) -> dict[str, bytes]:
    """`count` small files and `big` ~2 MiB ones of incompressible text; name -> body."""
    bodies = {f"note-{i:04d}.txt": f"note {i}\n{'é' * (i % 7)}".encode() for i in range(count)}
    for i in range(big):
        bodies[f"big-{i}.txt"] = base64.b64encode(os.urandom(1_500_000))
    for name, body in bodies.items():
        api.created(name, body)
    return bodies


def task(api: Api, task_id: str) -> dict[str, Any]:
    reply = api.get(f"/tasks/{task_id}")
    assert reply.status == 200, reply.body
    result: dict[str, Any] = reply.json
    return result


def run_until_done(sqs: Sqs, api: Api, task_id: str, **context: Any) -> list[dict[str, Any]]:
    """Deliver messages until the task ends; the task as seen after each invocation."""
    seen = []
    for _ in range(100):
        if not sqs.deliver(CountdownContext(**context)):
            break
        seen.append(task(api, task_id))
        if seen[-1]["state"] in TERMINAL:
            break
    return seen


def download(api: Api, url: str) -> bytes:
    if url.startswith("http://127.0.0.1:8000/"):  # the folder driver's link: served by the app
        reply = api.get(url.removeprefix("http://127.0.0.1:8000"), {"accept": "application/zip"})
        assert reply.status == 200, reply.body
        return reply.body
    with urllib.request.urlopen(url, timeout=10) as response:  # presigned S3 (moto)
        data: bytes = response.read()
        return data


def assert_archive(api: Api, result: dict[str, Any], bodies: dict[str, bytes]) -> None:
    archive = zipfile.ZipFile(io.BytesIO(download(api, result["download_url"])))
    assert archive.testzip() is None
    names = archive.namelist()
    assert sorted(names) == sorted(bodies)  # every file exactly once
    for name in names:
        assert archive.read(name) == bodies[name]
    assert result["files"] == len(bodies)


def leftovers(tenant_prefix: str) -> list[str]:
    """Work objects and unfinished multipart uploads an export left behind."""
    from chalicelib.blobs import blobs

    store: Any = blobs()
    found = [b.key for b in store.list(tenant_prefix) if ".work/" in b.key]
    if store.name == "s3":
        uploads = store.s3.list_multipart_uploads(Bucket=store.bucket, Prefix=tenant_prefix)
        found += [u["Key"] for u in uploads.get("Uploads", [])]
    else:
        staging = store.root.parent / f"{store.root.name}-multipart"
        found += [p.name for p in staging.glob("*")] if staging.exists() else []
    return found


def stable(shown: dict[str, Any]) -> dict[str, Any]:
    """The task without the parts made afresh on each read (the download link)."""
    result = {k: v for k, v in (shown["result"] or {}).items() if "url" not in k}
    return {**shown, "result": result}


def tenant_of(api: Api) -> str:
    from chalicelib.tenants import apikeys

    tenant = apikeys.lookup(apikeys.hash_key(str(api.key)))
    assert tenant is not None
    return tenant.id


# --- exports on SQS --------------------------------------------------------------------------


def test_export_finishes_across_invocations(api: Api, sqs: Sqs) -> None:
    bodies = make_files(api, 240, big=4)
    reply = api.call("POST", "/exports")
    assert reply.status == 202, reply.body
    started = reply.json
    assert reply.headers["Location"] == f"/tasks/{started['id']}"
    assert started["state"] == "queued" and started["kind"] == "export"

    seen = run_until_done(sqs, api, started["id"])

    final = seen[-1]
    assert final["state"] == "succeeded", final
    assert len(seen) >= 3  # handed off at least twice
    dones = [t["progress"]["done"] for t in seen]
    assert dones == sorted(dones)
    assert final["progress"] == {
        "done": len(bodies),
        "total": len(bodies),
        "message": f"{len(bodies)} files archived",
    }
    assert_archive(api, final["result"], bodies)
    assert leftovers(f"tenants/{tenant_of(api)}/") == []
    assert sqs.messages(sqs.dlq_url) == []
    health = api.get("/health").json
    assert health["checks"]["queue"]["status"] == "ok"
    assert health["checks"]["queue"]["driver"] == "sqs"


def test_duplicate_deliveries_do_the_work_once(api: Api, sqs: Sqs) -> None:
    bodies = make_files(api, 50)
    task_id = api.call("POST", "/exports").json["id"]
    first = sqs.client.receive_message(QueueUrl=sqs.url, AttributeNames=["All"])["Messages"][0]
    from chalicelib.queue.sqs import lambda_record

    record = lambda_record(first, sqs.url)
    worker = app.handler_map["task_worker"]
    progress: list[int] = []

    def duplicate_while_running(call: int) -> None:
        # The same message again while the first delivery holds the task: not run, and not
        # acknowledged either (it comes back when the lease ends, in case its holder died).
        if call == 2:
            from chalicelib.tasks import NotAcknowledged

            with pytest.raises(NotAcknowledged):
                worker({"Records": [record]}, CountdownContext())
            progress.append(task(api, task_id)["progress"]["done"])

    worker({"Records": [record]}, CountdownContext(on_call=duplicate_while_running))
    assert progress, "the duplicate was delivered mid-run"
    sqs.client.delete_message(QueueUrl=sqs.url, ReceiptHandle=first["ReceiptHandle"])
    # After the hand-off, the old message again (a late duplicate): dropped as stale.
    worker({"Records": [record]}, CountdownContext())
    seen = run_until_done(sqs, api, task_id)
    final = seen[-1]
    assert final["state"] == "succeeded"
    # And once finished, every message again: nothing changes.
    for body in [record["body"], *sqs.handled]:
        event = Client(app).events.generate_sqs_event([body], queue_name="textfiles-tasks")
        worker(event, CountdownContext())
    assert stable(task(api, task_id)) == stable(final)  # updated_at and progress included
    assert_archive(api, final["result"], bodies)
    assert sqs.messages(sqs.url) == []


# An export's checkpoint as every version so far has stored it (docs/tasks.md): a task
# checkpointed by an older version must resume under this one.
OLD_CHECKPOINT_KEYS = {
    "phase", "key", "upload", "as_of", "after", "offset", "seq", "pending_from",
    "pending_bytes", "parts", "written", "skipped",
}  # fmt: skip
OLD_CHECKPOINTS: list[dict[str, Any]] = [
    {},
    {
        "phase": "files", "key": "tenants/t/exports/x.zip", "upload": "u-1", "as_of": 17,
        "after": "f-9", "offset": 4096, "seq": 3, "pending_from": 1, "pending_bytes": 3000,
        "parts": [[1, "etag-1"]], "written": 40, "skipped": 2,
    },
    {
        "phase": "tidy", "key": "tenants/t/exports/x.zip", "upload": "u-1", "as_of": 17,
        "after": "f-9", "offset": 4096, "seq": 3, "pending_from": 1, "pending_bytes": 3000,
        "parts": [[1, "etag-1"]], "written": 40, "skipped": 2, "size": 4200, "parts_total": 2,
    },
]  # fmt: skip


@pytest.mark.parametrize("stored", OLD_CHECKPOINTS)
def test_an_export_checkpoint_reads_and_writes_the_stored_shape(stored: dict[str, Any]) -> None:
    from chalicelib.tasks.kinds.export_checkpoint import ExportCheckpoint

    assert ExportCheckpoint.from_json(stored).to_json() == stored


def test_an_export_checkpointed_by_an_older_version_resumes(api: Api, sqs: Sqs) -> None:
    from chalicelib.db import database

    bodies = make_files(api, 60, big=1)
    task_id = api.call("POST", "/exports").json["id"]
    assert sqs.deliver(CountdownContext(start_ms=5000))  # a few steps, then a hand-off
    row = database().query("SELECT checkpoint FROM tasks WHERE id = :id", id=task_id)[0]
    stored = json.loads(row["checkpoint"])
    assert stored["phase"] == "files" and stored["seq"] >= 1, stored  # chunks written
    assert set(stored) == OLD_CHECKPOINT_KEYS
    old = {name: stored[name] for name in sorted(OLD_CHECKPOINT_KEYS)}  # as an older version
    database().execute(
        "UPDATE tasks SET checkpoint = :cp WHERE id = :id", cp=json.dumps(old), id=task_id
    )
    seen = run_until_done(sqs, api, task_id)
    assert seen[-1]["state"] == "succeeded", seen[-1]
    assert_archive(api, seen[-1]["result"], bodies)
    assert leftovers(f"tenants/{tenant_of(api)}/") == []


# --- failures, dead letters, cancel ----------------------------------------------------------


def test_a_failing_step_is_retried_then_failed_and_dead_lettered(api: Api, sqs: Sqs) -> None:
    from chalicelib import tasks

    calls: list[int] = []

    def explode(ctx: tasks.TaskContext) -> tasks.Step:
        calls.append(1)
        raise RuntimeError("boom: the disk is on fire")

    tasks.register("test-explode", tasks.Kind(step=explode))
    created = tasks.create(tenant_of(api), "test-explode")
    for _ in range(10):
        if not sqs.deliver():
            break
    shown = task(api, created.id)
    assert shown["state"] == "failed"
    assert shown["error"] == tasks.INTERNAL_ERROR  # the exception's text goes to the log only
    assert len(calls) == 3  # TASK_MAX_ATTEMPTS
    dead = sqs.messages(sqs.dlq_url)
    assert [json.loads(m["Body"])["task_id"] for m in dead] == [created.id]
    assert sqs.messages(sqs.url) == []


def test_an_unparseable_message_ends_in_the_dlq(api: Api, sqs: Sqs) -> None:
    sqs.client.send_message(QueueUrl=sqs.url, MessageBody="this is not a task")
    receives = 0
    while sqs.deliver():
        receives += 1
    assert receives == MAX_RECEIVES
    assert [m["Body"] for m in sqs.messages(sqs.dlq_url)] == ["this is not a task"]


def test_cancel_stops_the_worker_and_cleans_up(api: Api, other_api: Api, sqs: Sqs) -> None:
    make_files(api, 60)
    task_id = api.call("POST", "/exports").json["id"]
    assert other_api.get(f"/tasks/{task_id}").status == 404
    assert other_api.call("DELETE", f"/tasks/{task_id}").status == 404
    cancelled: list[dict[str, Any]] = []

    def cancel_mid_run(call: int) -> None:
        if call == 3:
            reply = api.call("DELETE", f"/tasks/{task_id}")
            assert reply.status == 200
            cancelled.append(reply.json)

    sqs.deliver(CountdownContext(start_ms=60_000, on_call=cancel_mid_run))
    assert cancelled and cancelled[0]["state"] == "cancelled"
    while sqs.deliver():
        pass
    shown = task(api, task_id)
    assert shown["state"] == "cancelled"
    assert shown["result"] is None
    assert 0 < shown["progress"]["done"] < 60
    assert leftovers(f"tenants/{tenant_of(api)}/") == []
    from chalicelib.blobkeys import export_archive
    from chalicelib.blobs import BlobMissing, blobs

    with pytest.raises(BlobMissing):
        blobs().head(export_archive(tenant_of(api), task_id))
    assert api.call("DELETE", f"/tasks/{task_id}").json["state"] == "cancelled"  # idempotent
    assert sqs.messages(sqs.dlq_url) == []


def test_delete_a_succeeded_export_deletes_its_archive(api: Api, other_api: Api, sqs: Sqs) -> None:
    from chalicelib.blobkeys import export_archive
    from chalicelib.blobs import BlobMissing, blobs

    make_files(api, 2)
    task_id = api.call("POST", "/exports").json["id"]
    run_until_done(sqs, api, task_id, start_ms=60_000)
    key = export_archive(tenant_of(api), task_id)
    assert blobs().head(key).size > 0
    assert api.get("/usage").json["exports"]["used"] == 1
    assert other_api.call("DELETE", f"/tasks/{task_id}").status == 404  # not theirs
    reply = api.call("DELETE", f"/tasks/{task_id}")
    assert (reply.status, reply.body) == (204, b"")
    with pytest.raises(BlobMissing):
        blobs().head(key)
    assert api.get(f"/tasks/{task_id}").status == 404
    assert api.get("/usage").json["exports"]["used"] == 0
    assert api.call("DELETE", f"/tasks/{task_id}").status == 404
    assert api.get("/tasks/nope").status == 404


# --- no task lost when SQS is down -----------------------------------------------------------


def test_sqs_unreachable_at_creation_then_relayed(
    api: Api, sqs: Sqs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.aws import clients

    bodies = make_files(api, 5)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_TIMEOUT_SECONDS", "0.5")
    clients.reset()
    reply = api.call("POST", "/exports")
    assert reply.status == 202
    task_id = reply.json["id"]
    assert sqs.messages(sqs.url) == []

    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS")
    clients.reset()
    with Client(app) as client:
        event = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
        payload = client.lambda_.invoke("daily_purge", event).payload
    assert payload["relayed"] >= 1
    seen = run_until_done(sqs, api, task_id, start_ms=60_000)
    assert seen[-1]["state"] == "succeeded"
    assert_archive(api, seen[-1]["result"], bodies)


# --- through chalice.test.Client -------------------------------------------------------------


def test_worker_through_the_chalice_test_client(api: Api, sqs: Sqs) -> None:
    bodies = make_files(api, 12)
    task_id = api.call("POST", "/exports").json["id"]
    with Client(app) as client:
        body = json.dumps({"task_id": task_id})
        event = client.events.generate_sqs_event([body], queue_name="textfiles-tasks")
        client.lambda_.invoke("task_worker", event)
    # A slow step (a busy machine) may hand the task on: SQS delivers the message it queued.
    for _ in range(20):
        if task(api, task_id)["state"] != "running" or not sqs.deliver():
            break
    shown = task(api, task_id)
    assert shown["state"] == "succeeded"
    assert_archive(api, shown["result"], bodies)


# --- the in-process queue (make run) ---------------------------------------------------------


def test_inline_queue_runs_exports_in_the_background(
    embedded_env: Any, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.queue import queue

    monkeypatch.setenv("INLINE_TASK_BUDGET_MS", "0")  # one step per "invocation"
    monkeypatch.setenv("EXPORT_BATCH_FILES", "3")
    bodies = make_files(api, 10)
    task_id = api.call("POST", "/exports").json["id"]
    inline: Any = queue()
    assert inline.name == "inline"
    assert inline.drain(20)
    shown = task(api, task_id)
    assert shown["state"] == "succeeded", shown
    assert_archive(api, shown["result"], bodies)
    assert inline.dead_letters == []


# --- the daily purge -------------------------------------------------------------------------


def test_daily_purge_removes_expired_files_and_orphans(
    api: Api, clock: FakeClock, backend: str
) -> None:
    from chalicelib import tasks
    from chalicelib.blobs import BlobMissing, blobs
    from chalicelib.queue import queue

    old = [api.created(f"old-{i}.txt", f"old {i}") for i in range(3)]
    tenant = tenant_of(api)
    orphan = f"tenants/{tenant}/files/{uuid.uuid4().hex}/{uuid.uuid4().hex}"
    blobs().put(orphan, b"a body no row points at")
    old_keys = [
        row["blob_key"] for row in _rows("SELECT blob_key FROM files WHERE id IN (:a, :b, :c)", old)
    ]
    clock.advance(31 * 86_400)
    fresh = api.created("fresh.txt", "still here")

    with Client(app) as client:
        event = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
        payload = client.lambda_.invoke("daily_purge", event).payload
    inline: Any = queue()
    assert inline.drain(30)
    purge = tasks.get(payload["purge_task"])
    assert purge is not None and purge.state == "succeeded", purge
    assert purge.result is not None and purge.result["removed"]["files"] >= 3
    listed = api.get("/files").json["items"]
    assert [m["id"] for m in listed] == [fresh["id"]]
    for key in [*old_keys, orphan]:
        with pytest.raises(BlobMissing):
            blobs().head(key)
    assert api.get(f"/files/{fresh['id']}").text == "still here"


def _rows(sql: str, metas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from chalicelib.db import database

    return database().query(sql, a=metas[0]["id"], b=metas[1]["id"], c=metas[2]["id"])
