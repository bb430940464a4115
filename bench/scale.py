"""`make bench-scale`: every read and write of the API for a tenant of 10k, 100k and 1M files
(issue 27, docs/scale.md).

A throwaway PostgreSQL cluster gets the schema as it was before the scale migrations (11),
then, per size, one tenant and a neighbour of the same size sharing its words, loaded with
generate_series. The scale migrations (12-14, 17) then run on all of it, timed, and VACUUM ANALYZE
(autovacuum's work after the backfill's updates). The API runs in
process (chalice.test.Client) on that database, with the embedded cache and a local folder
for bodies, so a figure is the app's and the database's work, not a network's. Each
operation: the median of BENCH_SCALE_REPEAT (15) requests, and its database statements.
BENCH_SCALE_SIZES (10000,100000,1000000) picks the sizes. Never part of `make test`.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.postgres import PostgresServer  # noqa: E402

REPEAT = int(os.environ.get("BENCH_SCALE_REPEAT", "15"))
SIZES = [int(s) for s in os.environ.get("BENCH_SCALE_SIZES", "10000,100000,1000000").split(",")]
NOW = 1_800_000_000_000_000
LOAD_FILES = (
    "INSERT INTO files (id, tenant_id, name, size, sha256, version, blob_key, created_us,"
    " updated_us, expires_us) SELECT md5(:t || '-' || g), :t, 'doc-' || lpad(g::text, 7, '0'),"
    " octet_length('common lorem w' || g), encode(sha256(convert_to('common lorem w' || g,"
    " 'UTF8')), 'hex'), 1, 'tenants/' || :t || '/files/' || md5(:t || '-' || g) || '/b',"
    " CAST(:now AS BIGINT) - g * 1000, CAST(:now AS BIGINT) - g * 1000,"
    " CAST(:now AS BIGINT) + 86400000000000 FROM generate_series(1, CAST(:n AS INTEGER)) AS g"
)
LOAD_WORDS = (
    "INSERT INTO file_search (file_id, doc) SELECT md5(:t || '-' || g),"
    " to_tsvector('simple', 'common lorem w' || g) FROM generate_series(1, CAST(:n AS INTEGER)) g"
)


def log(message: str) -> None:
    print(f"[bench-scale {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _old_schema(db: Any) -> None:
    """The schema before the scale migrations: what a deployed database has today."""
    from chalicelib.db import migrations

    everything = migrations.MIGRATIONS
    migrations.MIGRATIONS = [m for m in everything if m[0] < 12]
    try:
        migrations.migrate(db)
    finally:
        migrations.MIGRATIONS = everything


def load(db: Any) -> None:
    _old_schema(db)
    for n in SIZES:
        for tenant in (f"big{n}", f"nb{n}"):
            started = time.monotonic()
            db.execute("INSERT INTO tenants (id, created_us) VALUES (:t, :now)", t=tenant, now=NOW)
            db.execute(LOAD_FILES, t=tenant, n=n, now=NOW)
            db.execute(LOAD_WORDS, t=tenant, n=n)
            log(f"loaded {n} files for {tenant} in {time.monotonic() - started:.1f} s")


def migrate_timed(db: Any) -> dict[str, float]:
    from chalicelib.db import migrations, online

    timings: dict[str, float] = {}
    original = online._timed

    def timed(what: str, started: float) -> None:
        timings[what] = time.monotonic() - started
        original(what, started)

    online._timed = timed
    started = time.monotonic()
    migrations.migrate(db)
    timings["12-14 and 17 in all"] = time.monotonic() - started
    online._timed = original
    with db.unbounded():  # what autovacuum does soon after: the backfill left dead rows
        db.execute("VACUUM ANALYZE")
    return timings


def _median(call: Callable[[int], Any], db: Any) -> tuple[float, float]:
    times, statements = [], []
    for i in range(REPEAT):
        before = db.statements
        started = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - started) * 1000)
        statements.append(db.statements - before)
    return statistics.median(times), statistics.median(statements)


def _ok(reply: Any, *statuses: int) -> Any:
    if reply.status not in statuses:
        raise RuntimeError(f"{reply.status}: {reply.body[:200]!r}")
    return reply


def _id(tenant: str, g: int) -> str:
    """The id of the loaded file number `g` (as md5() in LOAD_FILES)."""
    return hashlib.md5(f"{tenant}-{g}".encode()).hexdigest()


def operations(api: Any, n: int) -> dict[str, Callable[[int], Any]]:
    """Each operation, called with the repetition's number (a different file each time)."""
    from chalicelib.blobs import blobs

    tenant, mid = f"big{n}", n // 2
    cursor = quote(_ok(api.get("/files?limit=50"), 200).json["next_cursor"], safe="")
    for i in range(REPEAT):  # bodies for some loaded rows, read once each (a cache miss)
        g = mid + 100 + i
        blobs().put(f"tenants/{tenant}/files/{_id(tenant, g)}/b", f"common lorem w{g}".encode())
    made = [api.created(f"new-{i}.txt", f"fresh words {i}") for i in range(REPEAT)]
    return {
        "list `GET /files?limit=50`": lambda i: _ok(api.get("/files?limit=50"), 200),
        "page 2 (cursor)": lambda i: _ok(api.get(f"/files?limit=50&cursor={cursor}"), 200),
        "prefix, rare (1 file)": lambda i: _ok(api.get(f"/files?prefix=doc-{mid:07d}"), 200),
        "prefix, common (every file)": lambda i: _ok(api.get("/files?prefix=doc-"), 200),
        "search, rare word (1 file)": lambda i: _ok(api.get(f"/files?q=w{mid}"), 200),
        "search, common word (every file)": lambda i: _ok(api.get("/files?q=common"), 200),
        "metadata (uncached)": lambda i: _ok(
            api.get(f"/files/{_id(tenant, mid + 200 + i)}/metadata"), 200
        ),
        "body (uncached)": lambda i: _ok(api.get(f"/files/{_id(tenant, mid + 100 + i)}"), 200),
        "usage `GET /usage`": lambda i: _ok(api.get("/usage"), 200),
        "create `POST /files`": lambda i: api.created(f"bench-{i}.txt", f"words {i}"),
        "replace `PUT`": lambda i: _ok(api.put(made[i]["id"], f"replaced {i}"), 200),
        "rename `PATCH`": lambda i: _ok(api.rename(made[i]["id"], f"renamed-{i}.txt"), 200),
        "delete `DELETE`": lambda i: _ok(api.delete(made[i]["id"]), 204),
    }


def measure(n: int) -> dict[str, tuple[float, float]]:
    from chalice.test import Client

    from app import app
    from chalicelib.db import database
    from chalicelib.tenants import apikeys
    from support.api import Api

    key = apikeys.create_key(f"big{n}")
    db = database()
    with Client(app, stage_name="local") as client:
        api = Api(client, key)
        ops = operations(api, n)
        return {name: _median(call, db) for name, call in ops.items()}


def report(results: dict[int, dict[str, tuple[float, float]]], timings: dict[str, float]) -> None:
    sizes = sorted(results)
    head = " | ".join(f"{n:,} files" for n in sizes)
    print(f"\n| operation | {head} | statements | {sizes[-1]:,} / {sizes[0]:,} |")
    print("|---" * (len(sizes) + 3) + "|")
    for name in results[sizes[0]]:
        cells = " | ".join(f"{results[n][name][0]:.1f} ms" for n in sizes)
        ratio = results[sizes[-1]][name][0] / results[sizes[0]][name][0]
        print(f"| {name} | {cells} | {results[sizes[-1]][name][1]:g} | {ratio:.2f}x |")
    print("\n| migration step (all sizes loaded) | seconds |\n|---|---|")
    for what, seconds in timings.items():
        print(f"| {what} | {seconds:.1f} |")


def main() -> None:
    server = PostgresServer()
    server.start()
    data = tempfile.mkdtemp(prefix="textfiles-bench-scale-")
    try:
        url = server.create_database("scale")
        settings = {
            "DATABASE_URL": url + "?sslmode=disable",
            "DATA_DIR": data,
            "RATE_LIMIT_PER_WINDOW": "1000000000",
            "QUOTA_MAX_FILES": "100000000",
            "QUOTA_MAX_BYTES": str(10**15),
            "LOG_LEVEL": "warning",
        }
        for name in ("MEMCACHED_SERVERS", "FILES_BUCKET", "QUEUE_URL", "DATABASE_SECRET_ARN"):
            os.environ.pop(name, None)
        os.environ.update(settings)
        from chalicelib.db import postgres_settings
        from chalicelib.db.postgres import PostgresDatabase

        loader = PostgresDatabase(postgres_settings(settings["DATABASE_URL"]))
        with loader.unbounded():
            load(loader)
        timings = migrate_timed(loader)
        loader.close()
        log("migrations: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
        results = {}
        for n in SIZES:
            log(f"measuring the tenant of {n:,} files")
            results[n] = measure(n)
        report(results, timings)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
