"""`make bench-compression`: what gzip saves on the wire and what it costs (docs/bench.md,
"Compression").

Two answers, the ones API Gateway compresses in production (minimum_compression_size in
.chalice/config.json):
- a 1 MiB text body (GET /files/{id}): this repository's own docs and code, concatenated and
  cut to 1 MiB, so the ratio is that of real text, not of a repeated line;
- a 1,000-item list (GET /files?limit=1000), the largest page of metadata.

Bytes on the wire: one HTTP/1.1 exchange with `make run`'s server (tools/local_server.py,
which compresses as API Gateway does), counted on the socket, headers included, with and
without `Accept-Encoding: gzip`. Time to gzip: gzip.compress at levels 1, 6 (the local
server's) and 9, the median of BENCH_GZIP_RUNS (20), and gunzip's time on the client. Lambda
time: the handler's time for the same GET with and without Accept-Encoding, in process
(chalice.test.Client, embedded drivers), the median of BENCH_GZIP_RUNS: the function never
compresses (API Gateway does, after the function answered), so the two are the same.
Never part of `make test`.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

RUNS = int(os.environ.get("BENCH_GZIP_RUNS", "20"))
MIB = 1 << 20
LIST_SIZE = 1000


def real_text() -> bytes:
    """1 MiB of this repository's docs and code (Markdown, Python, JavaScript)."""
    parts = [p.read_bytes() for p in sorted(ROOT.glob("docs/*.md"))]
    parts += [p.read_bytes() for p in sorted(ROOT.glob("chalicelib/**/*.py"))]
    parts += [p.read_bytes() for p in sorted(ROOT.glob("chalicelib/edge/static/*.js"))]
    text = b"".join(parts)
    while len(text) < MIB:
        text += text
    return text[:MIB].decode("utf-8", "ignore").encode()


def median_ms(work: Callable[[], object]) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def wire_bytes(port: int, path: str, key: str, gzip_ok: bool) -> tuple[int, int, str]:
    """(bytes received, body bytes, Content-Encoding) of one GET, counted on the socket."""
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {key}"]
    lines += ["Accept-Encoding: gzip"] if gzip_ok else []
    lines += ["Connection: close", "", ""]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall("\r\n".join(lines).encode())
        received = b""
        while chunk := conn.recv(1 << 16):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    encoding = next(
        (
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-encoding:")
        ),
        "identity",
    )
    return len(received), len(body), encoding


def handler_ms(client: Any, path: str, key: str, gzip_ok: bool) -> float:
    headers = {"authorization": f"Bearer {key}", "accept": "*/*"}
    if gzip_ok:
        headers["accept-encoding"] = "gzip"
    return median_ms(lambda: client.http.get(path, headers=headers))


def populate(client: Any, key: str, body: bytes) -> str:
    """The 1 MiB file and 1,000 small ones; returns the large file's id."""
    auth = {"authorization": f"Bearer {key}", "content-type": "text/plain"}
    reply = client.http.post("/files?name=one-mib.txt", headers=auth, body=body)
    assert reply.status_code == 201, reply.body
    for n in range(LIST_SIZE - 1):
        text = f"note {n}: milk, eggs, bread\n".encode()
        created = client.http.post(f"/files?name=note-{n:04d}.txt", headers=auth, body=text)
        assert created.status_code == 201, created.body
    return str(json.loads(reply.body)["id"])


def gzip_rows(name: str, data: bytes) -> list[str]:
    rows = []
    for level in (1, 6, 9):
        packed = gzip.compress(data, compresslevel=level, mtime=0)
        took = median_ms(lambda level=level: gzip.compress(data, compresslevel=level, mtime=0))  # type: ignore[misc]
        unpack = median_ms(lambda packed=packed: gzip.decompress(packed))  # type: ignore[misc]
        rows.append(
            f"| {name} | gzip -{level} | {len(data):,} | {len(packed):,}"
            f" | {100 * (1 - len(packed) / len(data)):.1f} % | {took:.2f} ms | {unpack:.2f} ms |"
        )
    return rows


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="bench-gzip-"))
    os.environ.update(DATA_DIR=str(folder / "data"), AUTH_FAILURES_PER_WINDOW="1000000")
    os.environ.update(RATE_LIMIT_PER_WINDOW="1000000")
    for name in ("DATABASE_URL", "MEMCACHED_SERVERS", "FILES_BUCKET", "QUEUE_URL"):
        os.environ.pop(name, None)
    from chalice.test import Client

    from app import app
    from chalicelib.tenants import apikeys
    from support.chalice_local import ChaliceLocal

    body = real_text()
    key = apikeys.create_key("bench-gzip")
    with Client(app, stage_name="local") as client:
        file_id = populate(client, key, body)
        answers = {
            "1 MiB text body": f"/files/{file_id}",
            "1,000-item list": f"/files?limit={LIST_SIZE}",
        }
        lambda_ms = {
            name: (handler_ms(client, path, key, False), handler_ms(client, path, key, True))
            for name, path in answers.items()
        }
        list_json = client.http.get(
            answers["1,000-item list"], headers={"authorization": f"Bearer {key}"}
        ).body
    local = ChaliceLocal(dict(os.environ))
    local.start()
    try:
        wire = {
            name: (wire_bytes(local.port, p, key, False), wire_bytes(local.port, p, key, True))
            for name, p in answers.items()
        }
    finally:
        local.stop()
    minimum = json.loads((ROOT / ".chalice" / "config.json").read_text())[
        "minimum_compression_size"
    ]
    print(f"minimum_compression_size: {minimum} bytes; {RUNS} runs per median\n")
    print("| answer | bytes on the wire, as is | with Accept-Encoding: gzip | saved |")
    print("|---|---|---|---|")
    for name, ((plain, _, _), (packed, _, encoding)) in wire.items():
        saved = 100 * (1 - packed / plain)
        print(f"| {name} | {plain:,} | {packed:,} ({encoding}) | {saved:.1f} % |")
    print("\n| answer | level | bytes | gzipped | saved | gzip time | gunzip time |")
    print("|---|---|---|---|---|---|---|")
    for row in gzip_rows("1 MiB text body", body) + gzip_rows("1,000-item list", list_json):
        print(row)
    print("\n| answer | Lambda handler, no Accept-Encoding | with Accept-Encoding: gzip |")
    print("|---|---|---|")
    for name, (plain_ms, gzip_ms) in lambda_ms.items():
        print(f"| {name} | {plain_ms:.2f} ms | {gzip_ms:.2f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
