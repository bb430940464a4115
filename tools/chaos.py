"""`make chaos`: writers under load on real backends while the cache, the database and storage
are each cut and restored; then every acknowledged write is read back.

Starts a throwaway PostgreSQL, memcached and moto server (tests/support/), puts a fault proxy
(tests/support/faults.py) in front of each, and serves the app with `chalice local` pointed at
the proxies. CHAOS_WRITERS threads create, replace and delete files of their own (so each
file's last acknowledged write is known); the main thread walks the fault schedule. Afterwards,
with every path restored, each file is read through the API: an acknowledged body that is gone
is *lost*, an older body (or a deleted file still served) is *stale*. A write whose outcome the
client could not know (a 503, a timeout) may or may not have happened: either outcome is
accepted. Only 127.0.0.1 is ever contacted.

Then a backlog of 10,000 missed cache writes is recorded and one cached file read until the
backlog is gone (tools/chaos_backlog.py): each request's share of the replay, and its latency.

Prints `acked, lost, stale, 500s, 503 without Retry-After, refused with a valid key` and the
backlog's figures; exits 1 unless lost, stale, 500s and refusals are all 0 and the backlog was
drained at most REPLAY_BATCH rows per request. A two-server cache ring is not run: the app
refuses one. Knobs: CHAOS_WRITERS (default 6), CHAOS_PHASE_SECONDS (default 6).
"""

from __future__ import annotations

import http.client
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tools")]

import chaos_backlog  # noqa: E402
from chaos_load import Api, File, Tally, verify, writer  # noqa: E402

from chalicelib.files import filecache  # noqa: E402
from support.faults import FaultProxy  # noqa: E402
from support.memcached import MemcachedServer  # noqa: E402
from support.moto import AWS_ENV, MotoServer  # noqa: E402
from support.net import free_port  # noqa: E402
from support.postgres import PostgresServer  # noqa: E402

WRITERS = int(os.environ.get("CHAOS_WRITERS", "6"))
PHASE_S = float(os.environ.get("CHAOS_PHASE_SECONDS", "6"))
BUCKET = "textfiles-chaos"
HOST = "127.0.0.1"
PROXIES: dict[str, FaultProxy] = {}  # cache, database, storage


def schedule(proxies: dict[str, FaultProxy], log: Callable[[str], None]) -> None:
    """Cut and restore each backend in turn, with a settle time between faults."""
    time.sleep(PHASE_S)
    for name, proxy in proxies.items():
        log(f"cut {name}")
        proxy.cut()
        time.sleep(PHASE_S)
        proxy.restore()
        log(f"restored {name}")
        time.sleep(PHASE_S)
    log("database: lose the replies to 3 COMMITs")
    lost_one = proxies["database"].drop_reply_after(b"COMMIT", times=3).wait(PHASE_S)
    log("a COMMIT's reply was lost" if lost_one else "no COMMIT was seen to lose its reply")
    time.sleep(PHASE_S)


def backends(stack: list[Callable[[], None]]) -> tuple[dict[str, str], dict[str, str]]:
    """Start the servers and a proxy in front of each (in PROXIES); the app's settings
    pointed at the proxies, and the same pointed straight at the servers."""
    postgres, memcached, moto = PostgresServer(), MemcachedServer(), MotoServer()
    for server in (postgres, memcached, moto):
        server.start()
        stack.append(server.stop)
    postgres.create_database("textfiles_chaos")
    assert postgres.port is not None and moto.port is not None
    PROXIES.update(
        cache=FaultProxy(memcached.address),
        database=FaultProxy((HOST, postgres.port)),
        storage=FaultProxy((HOST, moto.port)),
    )
    for proxy in PROXIES.values():
        proxy.start()
        stack.append(proxy.stop)
    os.environ.update({**AWS_ENV, "AWS_ENDPOINT_URL": moto.endpoint})
    import boto3

    boto3.client("s3", endpoint_url=moto.endpoint).create_bucket(Bucket=BUCKET)
    common = {
        **AWS_ENV,
        "FILES_BUCKET": BUCKET,
        "RATE_LIMIT_PER_WINDOW": "100000000",  # the failed-key limit stays: valid keys only
    }
    proxied = {
        **common,
        "DATABASE_URL": f"postgresql://postgres@{PROXIES['database'].address}/textfiles_chaos",
        "MEMCACHED_SERVERS": PROXIES["cache"].address,
        "AWS_ENDPOINT_URL": f"http://{PROXIES['storage'].address}",
    }
    direct = {
        **common,
        "DATABASE_URL": postgres.database_url("textfiles_chaos"),
        "MEMCACHED_SERVERS": memcached.servers,
        "AWS_ENDPOINT_URL": moto.endpoint,
    }
    return proxied, direct


def make_key(direct: dict[str, str]) -> str:
    """A key for a fresh tenant, written straight to the database (not through a proxy)."""
    os.environ.update(direct)
    from chalicelib.tenants import apikeys

    return str(apikeys.create_key(f"chaos-{uuid.uuid4().hex[:8]}"))


def serve(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`chalice local` on a free port, its log (one line per request) to a file."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "chalice"), "local", "--stage", "local"]
    command += ["--no-autoreload", "--host", HOST, "--port", str(port)]
    with log_path.open("wb") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            http.client.HTTPConnection(HOST, port, timeout=1).request("GET", "/openapi.json")
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"chalice local did not start; see {log_path}")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(10)


def run(log: Callable[[str], None]) -> int:
    stack: list[Callable[[], None]] = []
    folder = Path(tempfile.mkdtemp(prefix="textfiles-chaos-"))
    try:
        proxied, direct = backends(stack)
        key = make_key(direct)
        env = {**os.environ, **proxied, "DATA_DIR": str(folder / "data")}
        proc, port = serve(env, folder / "app.log")
        stack.append(lambda: stop_process(proc))
        log(f"chalice local on port {port} (log: {folder / 'app.log'}), {WRITERS} writers")
        return load_and_check(port, key, log)
    finally:
        for stop in reversed(stack):
            stop()


def load_and_check(port: int, key: str, log: Callable[[str], None]) -> int:
    tally, stop = Tally(), threading.Event()
    owned: list[list[File]] = [[] for _ in range(WRITERS)]
    threads = [
        threading.Thread(target=writer, args=(Api(port, key, tally), owned[i], stop, i))
        for i in range(WRITERS)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    schedule(PROXIES, log)
    stop.set()
    for thread in threads:
        thread.join(60)
    for proxy in PROXIES.values():
        proxy.restore()
    log(f"load done after {time.monotonic() - started:.0f} s; reading every file back")
    files = [f for group in owned for f in group]
    lost, stale, examples = verify(Api(port, key, tally), files)
    for line in examples[:20]:
        log(line)
    log(
        f"files {len(files)}, ambiguous writes {tally.ambiguous}, refused {tally.refused},"
        f" 503s {tally.unavailable}"
    )
    backlog = chaos_backlog.measure(Api(port, key, Tally()), log)
    log("cache ring: not run (a MEMCACHED_SERVERS list of several is refused: docs/backends.md)")
    print(
        f"acked {tally.acked}, lost {lost}, stale {stale}, 500s {tally.server_errors},"
        f" 503 without Retry-After {tally.no_retry_after},"
        f" refused with a valid key {tally.key_refused}"
    )
    print(backlog.line())
    bounded = backlog.drained and backlog.most_rows <= filecache.REPLAY_BATCH
    return 0 if lost == stale == tally.server_errors == tally.key_refused == 0 and bounded else 1


def main() -> int:
    began = time.monotonic()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server: no request log

    def log(message: str) -> None:
        print(f"[{time.monotonic() - began:5.1f} s] {message}", flush=True)

    return run(log)


if __name__ == "__main__":
    sys.exit(main())
