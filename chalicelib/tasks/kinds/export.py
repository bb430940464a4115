"""The export task: every file of a tenant in one zip archive, written as a multipart upload.

Steps (each idempotent; the design and its crash/duplicate analysis are in docs/tasks.md):
1. start:  count the files, open a multipart upload; both go in the checkpoint.
2. files:  the next batch of files (by id, those created before the export started) becomes
           a *chunk*: its zip entries, written at the archive offset held in the checkpoint,
           stored as a work object together with the entries' central-directory records.
           Chunks are joined into a part once they reach the part size.
3. finish: the central directory from the records, the last part, complete the upload.
4. tidy:   remove the work objects (only once finish is saved: a re-run of it needs them).
A step re-run from the same checkpoint writes the same objects under the same keys.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import blobkeys, clock, config, logs, tasks
from chalicelib.blobs import BlobMissing, blobs
from chalicelib.files import store
from chalicelib.tasks import Task
from chalicelib.tasks.kinds import export_archive
from chalicelib.tasks.kinds.export_checkpoint import ExportCheckpoint
from chalicelib.tasks.model import Kind, Step, TaskContext, register
from chalicelib.tenants import limits

CONTENT_TYPE = "application/zip"


def start(tenant_id: str, overrides: dict[str, int | None] | None = None) -> Task:
    """POST /exports: a new export task, or the tenant's export still under way (one at a
    time per tenant: an export reads every file, so it is not something to run in parallel)."""
    running = tasks.active("export", tenant_id)
    if running:
        return running[0]
    limits.check_exports(tenant_id)
    return tasks.create(tenant_id, "export", overrides=overrides)


# --- the steps -------------------------------------------------------------------------------


def step(ctx: TaskContext) -> Step:
    cp = ExportCheckpoint.from_json(ctx.checkpoint)
    if cp.phase == "start":
        return _start(ctx)
    if cp.phase == "files":
        return _files(ctx, cp)
    if cp.phase == "finish":
        return _finish(ctx, cp)
    return _tidy(ctx, cp)


def _start(ctx: TaskContext) -> Step:
    tenant = _tenant(ctx)
    now = clock.now_us()
    total = store.repository().export_count(tenant, now, now)
    key = blobkeys.export_archive(tenant, ctx.id)
    upload = blobs().start_multipart(key, CONTENT_TYPE)
    cp = ExportCheckpoint.started(key, upload, now)
    return Step(cp.to_json(), 0, total, f"archiving {total} files")


def _batch(tenant: str, cp: ExportCheckpoint) -> list[dict[str, Any]]:
    rows = store.repository().export_batch(
        tenant, cp.as_of, clock.now_us(), cp.after, config.export_batch_files()
    )
    taken: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        if taken and size + int(row["size"]) > config.export_batch_bytes():
            break
        taken.append(row)
        size += int(row["size"])
    return taken


def _body(tenant: str, row: dict[str, Any]) -> bytes | None:
    """The file's body; None when the file went away meanwhile (deleted while exporting)."""
    for _ in range(2):
        try:
            return blobs().get(row["blob_key"])
        except BlobMissing:
            fresh = store.repository().get(tenant, row["id"], clock.now_us())
            if fresh is None or fresh.blob_key == row["blob_key"]:
                return None
            row = {**row, "blob_key": fresh.blob_key}  # replaced meanwhile
    return None


def _files(ctx: TaskContext, cp: ExportCheckpoint) -> Step:
    tenant = _tenant(ctx)
    rows = _batch(tenant, cp)
    if not rows:
        message = "writing the archive's directory"
        return Step(cp.all_archived().to_json(), ctx.done, ctx.total, message)
    members = [
        (row["name"], int(row["updated_us"]), body)
        for row, body in zip(rows, _bodies(tenant, rows), strict=True)
        if body is not None
    ]
    data, records = export_archive.entries(cp.offset, members)
    bucket = blobs()
    bucket.put(blobkeys.export_work(tenant, ctx.id, cp.seq, "zip"), data)
    bucket.put(blobkeys.export_work(tenant, ctx.id, cp.seq, "json"), json.dumps(records).encode())
    cp = cp.chunk_written(rows[-1]["id"], len(data), len(members), len(rows) - len(members))
    if cp.pending_bytes >= max(config.export_part_bytes(), bucket.min_part_bytes):
        part = _pending(tenant, ctx.id, cp, data)
        etag = bucket.upload_part(cp.key, cp.upload, cp.next_part, part)
        cp = cp.part_uploaded(etag)
    done = ctx.done + len(rows)
    return Step(cp.to_json(), done, max(done, ctx.total or 0), f"{done} files archived")


def _bodies(tenant: str, rows: list[dict[str, Any]]) -> list[bytes | None]:
    """The batch's bodies, fetched by a few threads at once (S3 latency, not CPU, bounds
    an export), in the batch's order."""
    threads = min(config.export_fetch_threads(), len(rows))
    if threads <= 1:
        return [_body(tenant, row) for row in rows]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda row: _body(tenant, row), rows))


def _pending(tenant: str, task_id: str, cp: ExportCheckpoint, last: bytes | None) -> bytes:
    """The chunks not yet in a part, joined (the newest may be passed in, not read back)."""
    chunks = [
        last if last is not None and s == cp.seq - 1 else _get_work(tenant, task_id, s, "zip")
        for s in range(cp.pending_from, cp.seq)
    ]
    return b"".join(chunks)


def _get_work(tenant: str, task_id: str, seq: int, ext: str) -> bytes:
    return blobs().get(blobkeys.export_work(tenant, task_id, seq, ext))


def _finish(ctx: TaskContext, cp: ExportCheckpoint) -> Step:
    tenant = _tenant(ctx)
    records: list[list[Any]] = []
    for seq in range(cp.seq):
        records.extend(json.loads(_get_work(tenant, ctx.id, seq, "json")))
    tail = export_archive.central_directory(cp.offset, records)
    size = cp.offset + len(tail)
    if not _already_completed(cp.key, size):
        # A re-run after a crash between "complete" and the checkpoint finds the archive.
        bucket = blobs()
        last = _pending(tenant, ctx.id, cp, None) + tail
        etag = bucket.upload_part(cp.key, cp.upload, cp.next_part, last)
        bucket.complete_multipart(cp.key, cp.upload, [*cp.parts, (cp.next_part, etag)])
    return Step(cp.completed(size).to_json(), ctx.done, ctx.done, "removing work files")


def _tidy(ctx: TaskContext, cp: ExportCheckpoint) -> Step:
    """The archive is complete: drop the work objects (a separate step, so that a re-run of
    the finish step still finds them)."""
    _remove_work(_tenant(ctx), ctx.id, cp.seq)
    result = {
        "key": cp.key,
        "files": cp.written,
        "skipped": cp.skipped,
        "size": cp.size,
        "completed_us": clock.now_us(),
    }
    logs.info("export written", files=cp.written, size=cp.size, parts=cp.parts_total)
    return Step({}, ctx.done, ctx.done, f"{cp.written} files archived", result)


def _already_completed(key: str, size: int) -> bool:
    try:
        return blobs().head(key).size == size
    except BlobMissing:
        return False


def _remove_work(tenant: str, task_id: str, seqs: int) -> None:
    bucket = blobs()
    for seq in range(seqs):
        for ext in ("zip", "json"):
            bucket.delete(blobkeys.export_work(tenant, task_id, seq, ext))


def cleanup(ctx: TaskContext) -> None:
    """A cancelled or failed export: abort its upload, remove its work objects."""
    cp = ExportCheckpoint.from_json(ctx.checkpoint)
    if not cp.upload or ctx.tenant_id is None:
        return
    blobs().abort_multipart(cp.key, cp.upload)
    _remove_work(ctx.tenant_id, ctx.id, cp.seq)


def archive_until(result: dict[str, Any]) -> int:
    """When the archive of a succeeded export expires: what its task advertises, and when the
    purge may remove it (chalicelib/tasks/kinds/purge.py)."""
    return int(result["completed_us"]) + config.export_retention_days() * clock.DAY_US


def public_result(result: dict[str, Any]) -> dict[str, Any]:
    """A fresh, short-lived download link each time the task is read."""
    lifetime = config.export_url_seconds()
    until = archive_until(result)
    lifetime = max(0, min(lifetime, (until - clock.now_us()) // 1_000_000))
    url = None
    if lifetime > 0:
        url = blobs().download_url(result["key"], lifetime, "export.zip")
    return {
        "download_url": url,
        "url_expires_at": clock.iso(clock.now_us() + lifetime * 1_000_000) if url else None,
        "archive_expires_at": clock.iso(until),
        "files": result["files"],
        "skipped": result["skipped"],
        "size": result["size"],
    }


def _tenant(ctx: TaskContext) -> str:
    if ctx.tenant_id is None:
        raise ValueError("an export belongs to a tenant")
    return ctx.tenant_id


def discard(result: dict[str, Any]) -> None:
    """DELETE /tasks/{id} of a succeeded export: its archive goes now (deleting is idempotent)."""
    if result.get("key"):
        blobs().delete(result["key"])


EXPORT = register(
    "export", Kind(step=step, cleanup=cleanup, public_result=public_result, discard=discard)
)
