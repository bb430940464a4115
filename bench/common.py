"""What every part of `make bench` shares: paths, knobs, the log and the child runner."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BUILD = ROOT / "build" / "bench"
PY = str(ROOT / ".venv" / "bin" / "python")
REF_PY = os.environ.get("BENCH_REF_PYTHON") or str(ROOT / ".venv-bench-ref" / "bin" / "python")
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
WARM_RUNS = int(os.environ.get("BENCH_WARM_RUNS", "2000"))
POST_RUNS = int(os.environ.get("BENCH_POST_RUNS", "200"))
EXPORT_FILES = int(os.environ.get("BENCH_EXPORT_FILES", "1000"))
EXPORT_RUNS = int(os.environ.get("BENCH_EXPORT_RUNS", "2"))
RIE_RUNS = int(os.environ.get("BENCH_RIE_RUNS", "5"))
BUCKET = "textfiles-bench"
MIB = 1024 * 1024
# How long a cold process waits after the last read for the key entry (KEY_CACHE_SECONDS)
# and the shared cache check (CACHE_CHECK_SECONDS) to have expired: "after idle".
IDLE_SECONDS = 2.5
KEEPER_EVERY_SECONDS = 0.5  # "during load": another process reads the same file this often


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def text(response: dict[str, Any]) -> str:
    """A Lambda answer's body (the app base64-encodes every body for API Gateway)."""
    raw = str(response["body"])
    return base64.b64decode(raw).decode() if response.get("isBase64Encoded") else raw


def run_child(
    command: list[str], env: dict[str, str], spec: dict[str, Any], label: str
) -> tuple[dict[str, Any], str]:
    """Run one bench child with BENCH_SPEC; its JSON result (BENCH_OUT) and its stderr."""
    with tempfile.NamedTemporaryFile(prefix="bench-", suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    proc = subprocess.run(
        command,
        env={**env, "BENCH_SPEC": json.dumps(spec), "BENCH_OUT": str(out)},
        cwd=str(BUILD),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    try:
        if proc.returncode != 0:
            raise RuntimeError(f"{label}: exit {proc.returncode}\n{proc.stderr.decode()[-3000:]}")
        result: dict[str, Any] = json.loads(out.read_text())
        return result, proc.stderr.decode(errors="replace")
    finally:
        out.unlink(missing_ok=True)
