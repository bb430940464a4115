"""Pinned on purpose, to guard cold-start performance: inside Lambda, garbage collection waits
for the first answer (docs/bench.md), then resumes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json, sys
sys.path.insert(0, {root!r})
import app
from chalice.test import Client
paused = not gc.isenabled()
seen = {{}}

@app.app.on_sqs_message(queue="probe", name="probe_worker")
def probe(event):
    seen["enabled_in_handler"] = gc.isenabled()

with Client(app.app) as client:
    if {http}:
        client.http.get("/health")
    else:
        client.lambda_.invoke("probe_worker", client.events.generate_sqs_event(["x"], "probe"))
print(json.dumps({{"paused": paused, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                  **seen}}))
"""


def _probe(http: bool, lambda_env: bool) -> dict[str, object]:
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(ROOT / ".data" / "gc-probe")}
    if lambda_env:
        env["AWS_LAMBDA_FUNCTION_NAME"] = "textfiles-probe"
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(root=str(ROOT), http=http)],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_collection_resumes_frozen_after_the_first_http_answer() -> None:
    result = _probe(http=True, lambda_env=True)
    assert result["paused"] is True
    assert result["enabled"] is True and int(str(result["frozen"])) > 0


def test_another_first_event_runs_with_collection_on() -> None:
    """A task may run for minutes: it never runs with collection paused."""
    result = _probe(http=False, lambda_env=True)
    assert result["enabled_in_handler"] is True


def test_outside_lambda_nothing_is_paused() -> None:
    result = _probe(http=True, lambda_env=False)
    assert result["paused"] is False and result["frozen"] == 0
