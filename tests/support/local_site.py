"""`chalice local` for the tests that use the service as its users do (browser, CLI)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support.chalice_local import ChaliceLocal
from support.net import ServerUnavailable, unavailable

ROOT = Path(__file__).resolve().parents[2]
INLINE_LIMIT = 4096  # so that a small test file takes the presigned-upload path


def server_env(data_dir: Path, settings: dict[str, str] | None) -> dict[str, str]:
    """The environment of a `chalice local` on embedded drivers, or on the given backends."""
    skip = ("DATABASE_", "MEMCACHED_", "FILES_", "QUEUE_", "AWS_LAMBDA", "MAX_INLINE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(DATA_DIR=str(data_dir), MAX_INLINE_BYTES=str(INLINE_LIMIT))
    # Every test calls from 127.0.0.1 and the session shares one memcached: other tests' 401s
    # must not count against this server's callers (the per-address guard has its own tests).
    env.setdefault("AUTH_FAILURES_PER_WINDOW", "1000000")
    env.update(settings or {})
    return env


def make_key(env: dict[str, str], tenant: str) -> str:
    """What `make key TENANT=...` runs; the key is the last line."""
    out = subprocess.run(
        [sys.executable, "-m", "chalicelib.edge.admin", "key", tenant],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.strip().splitlines()[-1]


@contextmanager
def running(
    data_dir: Path, settings: dict[str, str] | None, tenant: str
) -> Iterator[tuple[str, str]]:
    """A started `chalice local` (base URL) and a fresh key of `tenant`."""
    env = server_env(data_dir, settings)
    local = ChaliceLocal(env)
    env["PORT"] = str(local.port)  # the server's own links name its port
    try:
        local.start()
    except ServerUnavailable as exc:
        unavailable("chalice local", str(exc))
    try:
        yield local.base, make_key(env, tenant)
    finally:
        local.stop()
