"""`make load`: mixed reads and writes against `make run` on real backends (docs/scale.md).

Starts throwaway PostgreSQL (every statement logged), memcached (behind a counting TCP relay)
and moto servers as the tests do, then `make run` on a free 127.0.0.1 port with them, seeds
files, and sends LOAD_CLIENTS (4) concurrent clients for LOAD_SECONDS (20): 70% GET /files/{id},
10% GET /files (list), 10% POST /files, 10% PUT /files/{id}. It prints throughput, p50/p99
latency per operation, and database statements, transactions and cache round trips per
request; bench/load.json keeps them. Traffic goes to 127.0.0.1 only; never part of make test.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "bench")]

from relay import Relay  # noqa: E402

from support.memcached import MemcachedServer  # noqa: E402
from support.moto import AWS_ENV  # noqa: E402
from support.moto_https import HttpsMoto  # noqa: E402
from support.net import HOST, free_port  # noqa: E402
from support.postgres import PostgresServer  # noqa: E402

SECONDS = float(os.environ.get("LOAD_SECONDS", "20"))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "4"))
SEED_FILES = 50
MIX = [("get", 70), ("list", 10), ("create", 10), ("replace", 10)]


def statements(log: Path) -> tuple[int, int]:
    """(statements, commits) the server has logged (log_statement = all)."""
    text = log.read_text(errors="replace")
    run = re.findall(r"LOG:  (?:statement|execute [^:]*): (\w+)", text)
    control = {"BEGIN", "START", "COMMIT", "ROLLBACK"}
    return sum(1 for s in run if s.upper() not in control), sum(
        1 for s in run if s.upper() == "COMMIT"
    )


def request(base: str, key: str, method: str, path: str, body: bytes | None = None) -> Any:
    headers = {"Authorization": f"Bearer {key}"}
    if body is not None:
        headers["Content-Type"] = "text/plain"
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as reply:
        return reply.status, reply.read()


def start_app(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """`make run`, in its own process group (make -> chalice local), until it answers."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=2).close()
            return proc
        except urllib.error.HTTPError:
            return proc
        except OSError:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"make run exited:\n{tail}") from None
            time.sleep(0.2)
    raise RuntimeError("make run did not answer")


def worker(
    base: str, key: str, ids: list[str], until: float, out: list[tuple[str, float, int]]
) -> None:
    rng = random.Random()
    ops, weights = zip(*MIX, strict=True)
    while time.monotonic() < until:
        op = rng.choices(ops, weights)[0]
        body = (f"line {rng.random()}\n" * 20).encode()
        started = time.perf_counter()
        try:
            if op == "get":
                status, _ = request(base, key, "GET", f"/files/{rng.choice(ids)}")
            elif op == "list":
                status, _ = request(base, key, "GET", "/files?limit=20")
            elif op == "create":
                status, _ = request(
                    base, key, "POST", f"/files?name=load-{rng.getrandbits(64):x}", body
                )
            else:
                status, _ = request(base, key, "PUT", f"/files/{rng.choice(ids)}", body)
        except urllib.error.HTTPError as exc:
            status = exc.code
        out.append((op, (time.perf_counter() - started) * 1000, status))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def drive(base: str, key: str, ids: list[str]) -> list[tuple[str, float, int]]:
    results: list[tuple[str, float, int]] = []
    until = time.monotonic() + SECONDS
    threads = [
        threading.Thread(target=worker, args=(base, key, ids, until, results))
        for _ in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def report(
    results: list[tuple[str, float, int]], db: tuple[int, int], trips: int
) -> dict[str, Any]:
    count = len(results)
    summary: dict[str, Any] = {
        "clients": CLIENTS,
        "seconds": SECONDS,
        "requests": count,
        "throughput_rps": count / SECONDS,
        "failed": sum(1 for _, _, s in results if s >= 400),
        "statements_per_request": db[0] / count,
        "transactions_per_request": db[1] / count,
        "cache_round_trips_per_request": trips / count,
        "latency_ms": {},
    }
    for op in ["all", *(name for name, _ in MIX)]:
        times = [ms for o, ms, _ in results if op in ("all", o)]
        summary["latency_ms"][op] = {
            "n": len(times),
            "p50": statistics.median(times) if times else 0.0,
            "p99": percentile(times, 0.99),
        }
    return summary


def log_every_statement(postgres: PostgresServer) -> Path:
    import pg8000.native

    admin = pg8000.native.Connection("postgres", host=HOST, port=postgres.port, ssl_context=False)
    admin.run("ALTER SYSTEM SET log_statement = 'all'")
    admin.run("SELECT pg_reload_conf()")
    admin.close()
    return Path(str(postgres.base_dir)) / "log"


def app_env(database: str, cache_port: int, moto: HttpsMoto) -> dict[str, str]:
    import boto3

    boto3.client(
        "s3", endpoint_url=moto.endpoint, region_name="us-east-1", verify=str(moto.cert),
        aws_access_key_id="testing", aws_secret_access_key="testing",
    ).create_bucket(Bucket="textfiles-load")  # fmt: skip
    return {
        **os.environ, **AWS_ENV,
        "DATABASE_URL": database + "?sslmode=disable",
        "MEMCACHED_SERVERS": f"{HOST}:{cache_port}",
        "FILES_BUCKET": "textfiles-load",
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_CA_BUNDLE": str(moto.cert),
        "RATE_LIMIT_PER_WINDOW": "1000000000",
        "QUOTA_MAX_FILES": "1000000000",
        "QUOTA_MAX_BYTES": str(1 << 40),
        "LOG_LEVEL": "warning",
        # chalice local serves every client in one process (Lambda: one request per
        # process): its memcached reads wait for the GIL behind other requests.
        "MEMCACHED_TIMEOUT_SECONDS": "2",
    }  # fmt: skip


def seed(base: str, env: dict[str, str]) -> tuple[str, list[str]]:
    """A key made by the admin CLI, and SEED_FILES files made through the API."""
    key = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "chalicelib.edge.admin", "key", "load"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    ids = []
    for n in range(SEED_FILES):
        _, reply = request(base, key, "POST", f"/files?name=seed-{n}.txt", b"seed\n" * 40)
        ids.append(json.loads(reply)["id"])
    return key, ids


def measure(base: str, env: dict[str, str], log: Path, relay: Relay) -> dict[str, Any]:
    key, ids = seed(base, env)
    before_db, before_trips = statements(log), relay.trips
    print(f"load: {CLIENTS} clients for {SECONDS:.0f} s against {base}", file=sys.stderr)
    results = drive(base, key, ids)
    after_db, after_trips = statements(log), relay.trips
    db = (after_db[0] - before_db[0], after_db[1] - before_db[1])
    summary = report(results, db, after_trips - before_trips)
    try:
        summary["health"] = json.loads(urllib.request.urlopen(f"{base}/health").read())
    except urllib.error.HTTPError as exc:
        summary["health"] = json.loads(exc.read())
    return summary


def main() -> int:
    postgres, memcached, moto = PostgresServer(), MemcachedServer(), HttpsMoto()
    app: subprocess.Popen[bytes] | None = None
    relay: Relay | None = None
    try:
        for server in (postgres, memcached, moto):
            server.start()
        database = postgres.create_database("textfiles_load")
        log = log_every_statement(postgres)
        relay = Relay(memcached.address[1], log.parent)
        env = app_env(database, relay.port, moto)
        port = free_port()
        app = start_app(env, port, log.with_name("make-run.log"))
        summary = measure(f"http://{HOST}:{port}", env, log, relay)
    finally:
        if app is not None:
            os.killpg(app.pid, signal.SIGTERM)
            app.wait(timeout=15)
        if relay is not None:
            relay.close()
        for server in (moto, memcached, postgres):
            server.stop()
    (ROOT / "bench" / "load.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
