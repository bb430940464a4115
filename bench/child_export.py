"""Export throughput (8): the export task end to end on the real backends, against a plain
sequential boto3 loop that gets every body and writes it into a zip. BENCH_SPEC gives the
number of files and of runs; QUEUE_URL (a moto SQS queue) is in the environment."""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from events import Context  # noqa: E402

TERMINAL = {"succeeded", "failed", "cancelled"}


def _sqs() -> Any:
    from chalicelib.aws import clients

    return clients.client("sqs")


def run_export(tenant_id: str) -> dict[str, Any]:
    """POST /exports' use case, then what Lambda's SQS event source does, until the end."""
    from app import app
    from chalicelib import tasks
    from chalicelib.queue.sqs import lambda_record
    from chalicelib.tasks.kinds import export

    url = os.environ["QUEUE_URL"]
    worker = app.handler_map["task_worker"]
    started = time.perf_counter()
    task = export.start(tenant_id)
    in_worker = 0.0
    deliveries = 0
    state = task.state
    while state not in TERMINAL:
        reply = _sqs().receive_message(
            QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0, AttributeNames=["All"]
        )
        for message in reply.get("Messages", []):
            record = lambda_record(message, url)
            t0 = time.perf_counter()
            worker({"Records": [record]}, Context(budget_ms=890_000))
            in_worker += time.perf_counter() - t0
            deliveries += 1
            _sqs().delete_message(QueueUrl=url, ReceiptHandle=record["receiptHandle"])
        current = tasks.get(task.id)
        assert current is not None
        state = current.state
        if time.perf_counter() - started > 300:
            raise RuntimeError("export did not finish within 300 s")
    elapsed = time.perf_counter() - started
    final = tasks.get(task.id)
    assert final is not None and final.state == "succeeded", final
    return {
        "seconds": elapsed,
        "worker_seconds": in_worker,
        "deliveries": deliveries,
        "files": (final.result or {}).get("files"),
    }


def run_plain_loop(tenant_id: str, bucket: str) -> dict[str, Any]:
    """The yardstick: one query for the keys, then get each object and write it to a zip."""
    from chalicelib.aws import clients
    from chalicelib.db import database

    s3 = clients.client("s3")
    started = time.perf_counter()
    rows = database().query(
        "SELECT name, blob_key FROM files WHERE tenant_id = :t ORDER BY id", t=tenant_id
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for row in rows:
            body = s3.get_object(Bucket=bucket, Key=row["blob_key"])["Body"].read()
            archive.writestr(row["name"], body)
    s3.put_object(Bucket=bucket, Key=f"bench/plain-{uuid.uuid4().hex}.zip", Body=buffer.getvalue())
    return {"seconds": time.perf_counter() - started, "files": len(rows)}


def main() -> None:
    spec: dict[str, Any] = json.loads(os.environ["BENCH_SPEC"])
    count, runs = int(spec["files"]), int(spec["runs"])
    from chalicelib.files import writes
    from chalicelib.tenants import apikeys

    tenant_id = f"export-{uuid.uuid4().hex[:10]}"
    apikeys.create_key(tenant_id)
    tenant = apikeys.Tenant(tenant_id, {})
    made = time.perf_counter()
    for i in range(count):
        writes.create(tenant, f"note-{i:05d}.txt", f"note {i}\n{'é' * (i % 7)}".encode())
    setup_s = time.perf_counter() - made
    exports_, plain = [], []
    for _ in range(runs):
        plain.append(run_plain_loop(tenant_id, os.environ["FILES_BUCKET"]))
        exports_.append(run_export(tenant_id))
    out = {
        "files": count,
        "setup_seconds": setup_s,
        "export": exports_,
        "plain": plain,
        "export_median_s": statistics.median(r["seconds"] for r in exports_),
        "export_worker_median_s": statistics.median(r["worker_seconds"] for r in exports_),
        "plain_median_s": statistics.median(r["seconds"] for r in plain),
    }
    with open(os.environ["BENCH_OUT"], "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main()
