"""Pinned on purpose, to guard cold-start performance (docs/bench.md): what a cold Lambda
loads to answer its first request, in a fresh interpreter: never
`dataclasses` or `inspect` (dataclasses imports inspect, ast and dis: about 10 ms of a cold
start) and never botocore or boto3 on the embedded drivers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from conftest import LOCAL_STAGE, reset_drivers
from support.api import Api
from support.memcached import MemcachedServer

ROOT = Path(__file__).resolve().parents[2]
CHILD = ROOT / "tests" / "support" / "cold_request.py"
NEVER = ("dataclasses", "inspect", "botocore", "boto3")


@pytest.fixture
def api(
    embedded_env: Path, memcached: MemcachedServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Api]:
    """The app in this process on SQLite and a folder under DATA_DIR, with the session's
    memcached as its cache: the cold process gets the same settings, so the same data."""
    monkeypatch.setenv("MEMCACHED_SERVERS", memcached.servers)
    reset_drivers()
    from app import app
    from chalicelib.tenants import apikeys

    with Client(app, stage_name=LOCAL_STAGE) as client:
        yield Api(client, apikeys.create_key("cold-imports"))


def fresh(*args: str, **env: str) -> str:
    """What a fresh interpreter started with `args` prints (this environment, plus `env`)."""
    done = subprocess.run(
        [sys.executable, *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def cold(*args: str) -> dict[str, Any]:
    """Status and loaded modules of one request answered by a fresh process."""
    result: dict[str, Any] = json.loads(fresh(str(CHILD), *args).splitlines()[-1])
    return result


# What `import app` may load besides Chalice: our route modules and what they need that
# Chalice has not loaded already (docs/bench.md, target 1: within 1.1x Chalice's hello).
IMPORT_APP_ADDS = {
    "__future__", "_contextvars", "contextvars", "gc", "app", "chalicelib", "chalicelib.config",
    "chalicelib.settings_table", "chalicelib.edge", "chalicelib.edge.http",
    "chalicelib.edge.routes.health", "chalicelib.edge.routes.tasks", "chalicelib.edge.page",
    "chalicelib.edge.routes.blobs", "chalicelib.edge.cors", "chalicelib.edge.responses",
    "chalicelib.edge.routes.history", "chalicelib.edge.routes", "chalicelib.edge.routes.changes",
    "chalicelib.edge.idempotent",
    "chalicelib.edge.routes.bodies",
    "chalicelib.edge.routes.names",
}  # fmt: skip
IMPORT_APP = """
import sys
sys.path.append(sys.argv[1])
import chalice.app
before = set(sys.modules)
import app
print(" ".join(sorted(set(sys.modules) - before)))
"""


def test_importing_the_app_loads_only_chalice_and_its_routes() -> None:
    """In a fresh interpreter without site (-S: no .pth file runs, as in Lambda's
    /var/task): pathlib, for one, costs ~1 ms of every cold start."""
    purelib = sysconfig.get_paths()["purelib"]
    added = fresh("-S", "-c", IMPORT_APP, purelib, AWS_LAMBDA_FUNCTION_NAME="cold-imports")
    assert sorted(set(added.split()) - IMPORT_APP_ADDS) == []


def test_a_cold_cached_get_loads_no_dataclasses_inspect_aws_or_database(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached read skips the database only while the key's cache entry
    (KEY_CACHE_SECONDS) and the shared cache check (`tf:clean`, CACHE_CHECK_SECONDS) are
    fresh, 2 s each by default. As at a scale-out, where warm functions keep both fresh
    (bench/child_keeper.py), this process reads the file right before the cold one starts.
    Both bounds are 60 s here, in both processes, so that a slow start on a loaded machine
    cannot outlast them: the hit takes the same path whatever they are."""
    monkeypatch.setenv("KEY_CACHE_SECONDS", "60")
    monkeypatch.setenv("CACHE_CHECK_SECONDS", "60")
    # A memcached reply slower than the 0.25 s default on a loaded machine counts as a cache
    # outage (the write is then checked against the database, by design): not this test's case.
    monkeypatch.setenv("MEMCACHED_TIMEOUT_SECONDS", "5")
    # The parent's read opened the tenant's rate counter; a window that ended in between
    # would make the child create it, a command outside the read's one exchange.
    monkeypatch.setenv("RATE_LIMIT_WINDOW_SECONDS", "3600")
    reset_drivers()
    file_id = api.created("cold.txt", "a cached body\n")["id"]
    assert api.get(f"/files/{file_id}").status == 200

    result = cold("get", str(api.key), file_id)

    assert result["status"] == 200
    loaded = set(result["modules"])
    # random: only a new key and the AWS retries' jitter need it. Nor the ports of the
    # database and the bucket, or the write use cases: a cached read needs none of them.
    # pymemcache neither: the read's one exchange runs on the driver's own socket.
    ports = {
        "chalicelib.db",
        "chalicelib.blobs",
        "chalicelib.files.writes",
        "chalicelib.files.orphans",
    }
    assert sorted(loaded & {*NEVER, "pg8000", "sqlite3", "random", "pymemcache", *ports}) == []


def test_a_cold_post_loads_no_dataclasses_inspect_or_aws(api: Api) -> None:
    result = cold("post", str(api.key), "posted.txt", "a new body\n")

    assert result["status"] == 201
    # A write needs the database: here the embedded one, whose sqlite3 loads neither
    # dataclasses nor inspect. pg8000 loads inspect (scramp imports asn1crypto, which
    # imports it), so on PostgreSQL `inspect` is loaded by a cold POST whatever we do.
    assert sorted(set(result["modules"]) & set(NEVER)) == []
