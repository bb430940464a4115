"""The purge task (daily): expired files, stale uploads, bodies no row points at, old export
archives and old finished tasks, a bounded batch per step.

Phases, in order (the checkpoint says which, and where in the bucket the scan is):
- files:   expired rows, oldest first: in one transaction the rows go and their bodies are
           recorded as garbage, due at once (the collector keeps those a version still holds);
- versions: expired versions (docs/history.md); the bodies no kept version shares any more are
           recorded as garbage, due at once;
- trash:   trashed files past their expiry, with every version they still had (these and the
           expired files are recorded in the change feed as `purged`, in the same transaction);
- changes: changes older than the retention (docs/changes.md), oldest first;
- garbage: the collector (chalicelib/files/orphans.py): every due body no row references;
- counters: each tenant's stored files and bytes counted again, its row locked, a batch of
           tenants per step; a counter that had drifted is fixed and logged (a warning);
- uploads: upload rows that can no longer be completed, once their staging objects are gone
           (those are garbage from the upload's start, due when its link can no longer write);
- orphans: one page of the bucket listing under `tenants/`: a file body that no file row, no
           pending upload and no garbage record points at, older than a day
           (`PURGE_ORPHAN_GRACE_SECONDS`: a write may be under way, or its outcome may have
           been unknown); an export's archive once the time its task advertises has
           passed, its other objects once older than the export retention;
- keys:    idempotency keys past their 24 hours (chalicelib/idempotency/keys.py);
- tasks:   finished task rows older than the task retention.
The bucket's 61-day lifecycle rule is the backstop for anything this misses (docs/tasks.md).
"""

from __future__ import annotations

from typing import Any

from chalicelib import blobkeys, clock, config, logs
from chalicelib.blobs import BlobInfo, blobs
from chalicelib.changes import feed
from chalicelib.files import bookkeeping, orphans, store
from chalicelib.files.history import retention
from chalicelib.tasks import Task
from chalicelib.tasks import store as tasks_store
from chalicelib.tasks.kinds import export
from chalicelib.tasks.model import Kind, Step, TaskContext, register
from chalicelib.tenants import store as tenants_store

PHASES = (
    "files", "versions", "trash", "changes", "garbage", "counters", "uploads", "orphans", "keys",
    "tasks",
)  # fmt: skip
COUNTER_BATCH = 100  # tenants per step: each is one aggregate over the tenant's rows


def start() -> Task:
    """The daily schedule: one purge at a time (a still-running purge is not doubled)."""
    from chalicelib import tasks

    running = tasks.active("purge")
    return running[0] if running else tasks.create(None, "purge")


def step(ctx: TaskContext) -> Step:
    cp = dict(ctx.checkpoint or {"phase": "files", "after": "", "counts": {}})
    phase = cp["phase"]
    if phase == "files":
        removed, more = _files()
    elif phase == "versions":
        removed, more = retention.purge_versions(config.purge_batch())
    elif phase == "trash":
        removed, more = retention.purge_trash(config.purge_batch())
    elif phase == "changes":
        removed, more = feed.expire(config.purge_batch())
    elif phase == "garbage":
        removed, more = _garbage()
    elif phase == "counters":
        removed, more = _counters(cp)
    elif phase == "uploads":
        removed, more = _uploads()
    elif phase == "orphans":
        removed, more = _orphans(cp)
    elif phase == "keys":
        removed, more = _keys()
    else:
        removed, more = _tasks()
    counts = dict(cp["counts"])
    counts[phase] = counts.get(phase, 0) + removed
    cp["counts"] = counts
    done = ctx.done + removed
    if not more:
        following = PHASES.index(phase) + 1
        if following == len(PHASES):
            logs.info("purge finished", **counts)
            return Step({}, done, done, f"{done} items removed", {"removed": counts})
        cp["phase"] = PHASES[following]
    return Step(cp, done, None, f"{phase}: {counts[phase]} removed")


def _files() -> tuple[int, bool]:
    limit = config.purge_batch()
    now = clock.now_us()
    repo = store.repository()
    rows = repo.expired(now, limit)
    if rows:
        with repo.transaction():
            # An expired file is already 404: its body needs no grace period.
            orphans.record([row["blob_key"] for row in rows], now, grace=False)
            repo.remove_expired([row["id"] for row in rows], now)
    return len(rows), len(rows) == limit


def _keys() -> tuple[int, bool]:
    from chalicelib.idempotency import keys

    limit = config.purge_batch()
    removed = keys.purge(limit)
    return removed, removed == limit


def _garbage() -> tuple[int, bool]:
    limit = config.purge_batch()
    looked_at = orphans.collect(limit)
    return looked_at, looked_at == limit


def _counters(cp: dict[str, Any]) -> tuple[int, bool]:
    """Reconcile a batch of tenants' counters; the number fixed (the drift is logged)."""
    limit = min(COUNTER_BATCH, config.purge_batch())
    tenants = tenants_store.tenants_after(cp.get("tenant_after", ""), limit)
    fixed = 0
    for tenant_id in tenants:
        drift = tenants_store.reconcile(tenant_id)
        if drift is not None:
            kept, actual = drift
            logs.warning(
                "usage counters had drifted; fixed",
                tenant=tenant_id,
                **kept._asdict(),
                **{f"actual_{name}": value for name, value in actual._asdict().items()},
            )
            fixed += 1
    if tenants:
        cp["tenant_after"] = tenants[-1]
    return fixed, len(tenants) == limit


def _uploads() -> tuple[int, bool]:
    """Upload rows past their link's lifetime twice over whose staging objects the garbage
    phase has deleted (the reservation ends with the object, chalicelib/tenants/store.py)."""
    limit = config.purge_batch()
    cutoff = clock.now_us() - config.upload_url_seconds() * 1_000_000
    ids = bookkeeping.stale_uploads(cutoff, limit)
    for upload_id in ids:
        bookkeeping.delete_upload(upload_id)
    return len(ids), len(ids) == limit


def _live_bodies(found: list[BlobInfo]) -> set[str]:
    """Of the listed file bodies, the keys a file row or a pending upload points at, and
    those recorded as garbage (the collector deletes them when due, after its own checks)."""
    file_ids = sorted({b.key.split("/")[3] for b in found})
    if not file_ids:
        return set()
    return store.repository().needed_bodies(file_ids, sorted(b.key for b in found))


def _orphans(cp: dict[str, Any]) -> tuple[int, bool]:
    limit = config.purge_batch()
    page = blobs().list_page(blobkeys.ROOT, cp["after"], limit)
    now = clock.now_us()
    body_cutoff = now - config.purge_orphan_grace_seconds() * 1_000_000
    export_cutoff = now - config.export_retention_days() * clock.DAY_US
    bodies = [b for b in page if blobkeys.kind(b.key) == "files" and b.modified_us < body_cutoff]
    live = _live_bodies(bodies)
    doomed = [b.key for b in bodies if b.key not in live]
    old_exports = [
        b.key for b in page if blobkeys.kind(b.key) == "exports" and b.modified_us < export_cutoff
    ]
    doomed += _expired_exports(old_exports, now)
    bucket = blobs()
    for key in doomed:
        bucket.delete(key)
    if page:
        cp["after"] = page[-1].key
    return len(doomed), len(page) == limit


def _expired_exports(keys: list[str], now: int) -> list[str]:
    """Of export objects dated older than the retention, those whose time has come. An object
    is not enough to go by: S3 dates one made by a multipart upload from when the upload
    began, so a succeeded export's archive goes by what its task advertises
    (`archive_expires_at`); one of an export under way stays; the rest (a failed or
    cancelled export's leftovers, a task purged since) go by their date."""
    found = tasks_store.get_many(sorted({blobkeys.export_task(key) for key in keys}))
    return [key for key in keys if not _kept(key, found.get(blobkeys.export_task(key)), now)]


def _kept(key: str, task: Task | None, now: int) -> bool:
    if task is None:
        return False
    if task.state in ("queued", "running"):
        return True
    archived = task.state == "succeeded" and task.result and key.endswith(".zip")
    return bool(archived and task.result and export.archive_until(task.result) > now)


def _tasks() -> tuple[int, bool]:
    limit = config.purge_batch()
    cutoff = clock.now_us() - config.task_retention_days() * clock.DAY_US
    removed = tasks_store.remove_finished(cutoff, limit)
    return removed, removed == limit


PURGE = register("purge", Kind(step=step))
