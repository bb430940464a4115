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

import io
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib import blobkeys, clock, config, limits, logs, tasks
from chalicelib.blobs import BlobMissing, blobs
from chalicelib.db import database
from chalicelib.tasks import Kind, Step, Task, TaskContext, register

if TYPE_CHECKING:
    import zipfile

SQL_COUNT = (
    "SELECT COUNT(*) AS n FROM files"
    " WHERE tenant_id = :t AND created_us <= :as_of AND expires_us > :now"
)
SQL_BATCH = (
    "SELECT id, name, size, blob_key, updated_us FROM files WHERE tenant_id = :t"
    " AND created_us <= :as_of AND expires_us > :now AND id > :after ORDER BY id LIMIT :limit"
)
SQL_BLOB_KEY = "SELECT blob_key FROM files WHERE id = :id AND tenant_id = :t"
CONTENT_TYPE = "application/zip"


def start(tenant_id: str, overrides: dict[str, int | None] | None = None) -> Task:
    """POST /exports: a new export task, or the tenant's export still under way (one at a
    time per tenant: an export reads every file, so it is not something to run in parallel)."""
    running = tasks.active("export", tenant_id)
    if running:
        return running[0]
    limits.check_exports(database(), tenant_id)
    return tasks.create(tenant_id, "export", overrides=overrides)


# --- the zip stream --------------------------------------------------------------------------


class _Sink(io.RawIOBase):
    """A write-only stream whose position starts at `base`: zipfile writes entries for that
    archive offset (non-seekable, so sizes go in data descriptors after each entry)."""

    def __init__(self, base: int) -> None:
        super().__init__()
        self.base = base
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += data
        return len(data)

    def tell(self) -> int:
        return self.base + len(self.buffer)


# Characters an archive name never holds as such: "%" (the escape itself), and those that
# Windows refuses in a file name. Names never hold "/" or control characters.
_ESCAPED = frozenset('%\\:*?"<>|')


def archive_name(name: str) -> str:
    """The file's entry name in the archive: unique and reversible, since
    `urllib.parse.unquote(archive_name(name)) == name` for every name. Percent-encoded: "%",
    the characters of _ESCAPED, every dot of a name made only of dots ("." and ".." are not
    file names when unpacked) and a trailing dot or space (Windows drops them)."""
    if name.strip(".") == "":
        return "%2E" * len(name)
    encoded = "".join(f"%{ord(ch):02X}" if ch in _ESCAPED else ch for ch in name)
    if encoded[-1] in ". ":
        encoded = encoded[:-1] + f"%{ord(encoded[-1]):02X}"
    return encoded


def _entries(base: int, members: list[tuple[str, int, bytes]]) -> tuple[bytes, list[list[Any]]]:
    """Local headers and data of `members` (name, modified µs, body) at archive offset `base`,
    and each entry's central-directory record for the finish step."""
    import zipfile

    sink = _Sink(base)
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, modified_us, body in members:
            when = datetime.fromtimestamp(modified_us / 1_000_000, tz=UTC)
            info = zipfile.ZipInfo(archive_name(name), when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, body)
        end = sink.tell()
        records = [_record(info) for info in archive.infolist()]
    # Closing wrote a central directory for this chunk alone: not part of the archive.
    return bytes(sink.buffer[: end - base]), records


def _record(info: zipfile.ZipInfo) -> list[Any]:
    return [
        info.filename,
        list(info.date_time),
        info.compress_type,
        info.CRC,
        info.compress_size,
        info.file_size,
        info.header_offset,
        info.flag_bits,
        info.external_attr,
        info.create_version,
        info.extract_version,
    ]


def _central_directory(base: int, records: list[list[Any]]) -> bytes:
    """The central directory and end records (zip64 when needed) for an archive whose
    entries end at `base`."""
    import zipfile

    infos = []
    for name, date_time, method, crc, csize, size, offset, flags, attr, cver, ever in records:
        info = zipfile.ZipInfo(name, tuple(date_time))
        info.compress_type, info.CRC = method, crc
        info.compress_size, info.file_size, info.header_offset = csize, size, offset
        info.flag_bits, info.external_attr = flags, attr
        info.create_version, info.extract_version = cver, ever
        infos.append(info)
    sink = _Sink(base)
    archive = zipfile.ZipFile(sink, "w")
    archive.filelist = infos
    archive.close()
    return bytes(sink.buffer)


# --- the steps -------------------------------------------------------------------------------


def step(ctx: TaskContext) -> Step:
    phase = ctx.checkpoint.get("phase", "start")
    if phase == "start":
        return _start(ctx)
    if phase == "files":
        return _files(ctx)
    if phase == "finish":
        return _finish(ctx)
    return _tidy(ctx)


def _start(ctx: TaskContext) -> Step:
    tenant = _tenant(ctx)
    now = clock.now_us()
    total = int(database().query(SQL_COUNT, t=tenant, as_of=now, now=now)[0]["n"])
    key = blobkeys.export_archive(tenant, ctx.id)
    upload = blobs().start_multipart(key, CONTENT_TYPE)
    checkpoint = {
        "phase": "files",
        "key": key,
        "upload": upload,
        "as_of": now,
        "after": "",
        "offset": 0,
        "seq": 0,
        "pending_from": 0,
        "pending_bytes": 0,
        "parts": [],
        "written": 0,
        "skipped": 0,
    }
    return Step(checkpoint, 0, total, f"archiving {total} files")


def _batch(tenant: str, cp: dict[str, Any]) -> list[dict[str, Any]]:
    rows = database().query(
        SQL_BATCH,
        t=tenant,
        as_of=cp["as_of"],
        now=clock.now_us(),
        after=cp["after"],
        limit=config.export_batch_files(),
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
            fresh = database().query(SQL_BLOB_KEY, id=row["id"], t=tenant)
            if not fresh or fresh[0]["blob_key"] == row["blob_key"]:
                return None
            row = {**row, "blob_key": fresh[0]["blob_key"]}  # replaced meanwhile
    return None


def _files(ctx: TaskContext) -> Step:
    tenant = _tenant(ctx)
    cp = dict(ctx.checkpoint)
    rows = _batch(tenant, cp)
    if not rows:
        cp["phase"] = "finish"
        return Step(cp, ctx.done, ctx.total, "writing the archive's directory")
    members = []
    for row, body in zip(rows, _bodies(tenant, rows), strict=True):
        if body is None:
            cp["skipped"] += 1
        else:
            members.append((row["name"], int(row["updated_us"]), body))
    data, records = _entries(cp["offset"], members)
    seq = cp["seq"]
    store = blobs()
    store.put(blobkeys.export_work(tenant, ctx.id, seq, "zip"), data)
    store.put(blobkeys.export_work(tenant, ctx.id, seq, "json"), json.dumps(records).encode())
    cp.update(
        after=rows[-1]["id"],
        offset=cp["offset"] + len(data),
        seq=seq + 1,
        pending_bytes=cp["pending_bytes"] + len(data),
        written=cp["written"] + len(members),
    )
    if cp["pending_bytes"] >= max(config.export_part_bytes(), store.min_part_bytes):
        _upload_pending(tenant, ctx.id, cp, last=data)
    done = ctx.done + len(rows)
    return Step(cp, done, max(done, ctx.total or 0), f"{done} files archived")


def _bodies(tenant: str, rows: list[dict[str, Any]]) -> list[bytes | None]:
    """The batch's bodies, fetched by a few threads at once (S3 latency, not CPU, bounds
    an export), in the batch's order."""
    threads = min(config.export_fetch_threads(), len(rows))
    if threads <= 1:
        return [_body(tenant, row) for row in rows]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda row: _body(tenant, row), rows))


def _pending(tenant: str, task_id: str, cp: dict[str, Any], last: bytes | None) -> bytes:
    """The chunks not yet in a part, joined (the newest may be passed in, not read back)."""
    seqs = range(cp["pending_from"], cp["seq"])
    chunks = [
        last if last is not None and s == cp["seq"] - 1 else _get_work(tenant, task_id, s, "zip")
        for s in seqs
    ]
    return b"".join(chunks)


def _upload_pending(tenant: str, task_id: str, cp: dict[str, Any], last: bytes | None) -> None:
    data = _pending(tenant, task_id, cp, last)
    number = len(cp["parts"]) + 1
    etag = blobs().upload_part(cp["key"], cp["upload"], number, data)
    cp["parts"] = [*cp["parts"], [number, etag]]
    cp["pending_from"] = cp["seq"]
    cp["pending_bytes"] = 0


def _get_work(tenant: str, task_id: str, seq: int, ext: str) -> bytes:
    return blobs().get(blobkeys.export_work(tenant, task_id, seq, ext))


def _finish(ctx: TaskContext) -> Step:
    tenant = _tenant(ctx)
    cp = dict(ctx.checkpoint)
    records: list[list[Any]] = []
    for seq in range(cp["seq"]):
        records.extend(json.loads(_get_work(tenant, ctx.id, seq, "json")))
    tail = _central_directory(cp["offset"], records)
    size = cp["offset"] + len(tail)
    store = blobs()
    if not _already_completed(cp["key"], size):
        # A re-run after a crash between "complete" and the checkpoint finds the archive.
        number = len(cp["parts"]) + 1
        last = _pending(tenant, ctx.id, cp, None) + tail
        etag = store.upload_part(cp["key"], cp["upload"], number, last)
        parts = [(int(n), str(e)) for n, e in cp["parts"]] + [(number, etag)]
        store.complete_multipart(cp["key"], cp["upload"], parts)
    cp.update(phase="tidy", size=size, parts_total=len(cp["parts"]) + 1)
    return Step(cp, ctx.done, ctx.done, "removing work files")


def _tidy(ctx: TaskContext) -> Step:
    """The archive is complete: drop the work objects (a separate step, so that a re-run of
    the finish step still finds them)."""
    cp = ctx.checkpoint
    _remove_work(_tenant(ctx), ctx.id, cp["seq"])
    result = {
        "key": cp["key"],
        "files": cp["written"],
        "skipped": cp["skipped"],
        "size": cp["size"],
        "completed_us": clock.now_us(),
    }
    logs.info("export written", files=cp["written"], size=cp["size"], parts=cp["parts_total"])
    return Step({}, ctx.done, ctx.done, f"{cp['written']} files archived", result)


def _already_completed(key: str, size: int) -> bool:
    try:
        return blobs().head(key).size == size
    except BlobMissing:
        return False


def _remove_work(tenant: str, task_id: str, seqs: int) -> None:
    store = blobs()
    for seq in range(seqs):
        for ext in ("zip", "json"):
            store.delete(blobkeys.export_work(tenant, task_id, seq, ext))


def cleanup(ctx: TaskContext) -> None:
    """A cancelled or failed export: abort its upload, remove its work objects."""
    cp = ctx.checkpoint
    if not cp.get("upload") or ctx.tenant_id is None:
        return
    blobs().abort_multipart(cp["key"], cp["upload"])
    _remove_work(ctx.tenant_id, ctx.id, int(cp.get("seq", 0)))


def public_result(result: dict[str, Any]) -> dict[str, Any]:
    """A fresh, short-lived download link each time the task is read."""
    lifetime = config.export_url_seconds()
    archive_until = int(result["completed_us"]) + config.export_retention_days() * clock.DAY_US
    lifetime = max(0, min(lifetime, (archive_until - clock.now_us()) // 1_000_000))
    url = None
    if lifetime > 0:
        url = blobs().download_url(result["key"], lifetime, "export.zip")
    return {
        "download_url": url,
        "url_expires_at": clock.iso(clock.now_us() + lifetime * 1_000_000) if url else None,
        "archive_expires_at": clock.iso(archive_until),
        "files": result["files"],
        "skipped": result["skipped"],
        "size": result["size"],
    }


def _tenant(ctx: TaskContext) -> str:
    if ctx.tenant_id is None:
        raise ValueError("an export belongs to a tenant")
    return ctx.tenant_id


EXPORT = register("export", Kind(step=step, cleanup=cleanup, public_result=public_result))
