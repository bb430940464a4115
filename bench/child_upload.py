"""Peak memory of completing a large upload (10): BENCH_SPEC {"phase": "stage", "mib": N} makes
a tenant and an upload of N MiB (ASCII lines and one emoji) and writes its staging object in
8 MiB parts; {"phase": "complete", "tenant": T, "upload": U} then completes it in a fresh
process and reports its peak RSS (VmHWM: ru_maxrss would carry the parent's over exec) and
Python's peak allocation (tracemalloc) during the completion. The environment picks the store:
FILES_BUCKET (S3) or DATA_DIR (a folder). BENCH_CODE_ROOT measures another checkout's code
(its chalicelib) on the same staging."""

from __future__ import annotations

import json
import os
import sys
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CODE = Path(os.environ.get("BENCH_CODE_ROOT") or Path(__file__).resolve().parent.parent)
sys.path[:0] = [str(CODE)]

MIB = 1024 * 1024
PART = 8 * MIB
LINE = b"an ordinary line of an ordinary large plaintext file, 64 bytes.\n"


def _parts(total: int) -> Iterator[bytes]:
    """`total` bytes of lines, one emoji in the middle, PART bytes at a time."""
    emoji_at = total // 2 // len(LINE) * len(LINE)
    made = 0
    while made < total:
        part = bytearray((LINE * (PART // len(LINE) + 1))[: min(PART, total - made)])
        if made <= emoji_at < made + len(part):
            part[emoji_at - made : emoji_at - made + 4] = "😀".encode()
        made += len(part)
        yield bytes(part)


def stage(mib: int) -> dict[str, Any]:
    from chalicelib.blobs import blobs
    from chalicelib.files import bookkeeping, uploads
    from chalicelib.tenants import apikeys

    tenant_id = f"upload-{uuid.uuid4().hex[:10]}"
    apikeys.create_key(tenant_id)
    tenant = apikeys.Tenant(tenant_id, {})
    upload = uploads.start(tenant, "large.txt", str(mib * MIB))
    row = bookkeeping.upload(tenant_id, upload.id)
    assert row is not None
    key, store = str(row["blob_key"]), blobs()
    multipart = store.start_multipart(key, "text/plain; charset=utf-8")
    done = [
        (n, store.upload_part(key, multipart, n, part))
        for n, part in enumerate(_parts(mib * MIB), start=1)
    ]
    store.complete_multipart(key, multipart, done)
    return {"tenant": tenant_id, "upload": upload.id, "bytes": mib * MIB}


def _peak_rss_kib() -> int:
    """This process's peak resident set, in KiB (Linux)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


def complete(tenant_id: str, upload_id: str) -> dict[str, Any]:
    from chalicelib.files import uploads
    from chalicelib.tenants import apikeys

    tenant = apikeys.Tenant(tenant_id, {})
    before_kib = _peak_rss_kib()
    tracemalloc.start()
    started = time.perf_counter()
    meta, created = uploads.complete(tenant, upload_id)
    seconds = time.perf_counter() - started
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_kib = _peak_rss_kib()
    assert created and meta.size > 0, (meta, created)
    return {
        "size": meta.size,
        "seconds": seconds,
        "rss_before_mib": before_kib / 1024,
        "rss_peak_mib": peak_kib / 1024,
        "traced_peak_mib": traced_peak / MIB,
    }


def main() -> None:
    spec: dict[str, Any] = json.loads(os.environ["BENCH_SPEC"])
    if spec["phase"] == "stage":
        out = stage(int(spec["mib"]))
    else:
        out = complete(spec["tenant"], spec["upload"])
    with open(os.environ["BENCH_OUT"], "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main()
