"""The information row: the packaged zip (`make package`, prod stage) run as Lambda runs it,
under the Runtime Interface Emulator (tests/support/lambda_rie.py), pointed at the bench's
backends. Each run starts a fresh emulator and times its first invoke (runtime start,
init and the request: the emulator's own INIT REPORT and INVOKE RTDONE split it) and a
second one."""

from __future__ import annotations

import json
import re
import shutil
import statistics
from typing import Any

from common import BUILD, log

# The bench's settings that replace the stage's own (its endpoints, secrets and limits).
FORWARDED = (
    "DATABASE_SECRET_ARN",
    "MEMCACHED_SERVERS",
    "FILES_BUCKET",
    "QUEUE_URL",
    "RATE_LIMIT_PER_WINDOW",
    "AUTH_FAILURES_PER_WINDOW",
    "LOG_LEVEL",
)
_INIT = re.compile(r"INIT REPORT\(durationMs: ([\d.]+)\)")
_INVOKE = re.compile(r"INVOKE RTDONE\(status: \w+, produced bytes: \d+, duration: ([\d.]+)ms\)")


def _overrides(env: dict[str, str]) -> dict[str, str]:
    found = {k: v for k, v in env.items() if k in FORWARDED}
    found.update({k: v for k, v in env.items() if k.startswith("AWS_") and "LAMBDA" not in k})
    return found


def _one_run(fn: Any, event: dict[str, Any]) -> dict[str, Any]:
    fn.start()
    try:
        first, first_s = fn.invoke(event)
        _, second_s = fn.invoke(event)
    finally:
        fn.stop()
    init, invokes = _INIT.findall(fn.logs()), _INVOKE.findall(fn.logs())
    return {
        "first_invoke_ms": first_s * 1000,
        "second_invoke_ms": second_s * 1000,
        "init_ms": float(init[-1]) if init else float("nan"),
        "handler_ms": float(invokes[0]) if invokes else float("nan"),
        "status": json.loads(first or b"{}").get("statusCode"),
    }


def measure(env: dict[str, str], event: dict[str, Any], keeper: Any, runs: int) -> dict[str, Any]:
    """Medians of `runs` fresh emulators answering `event` while `keeper` reads the same file
    (the scale-out case), or why they could not be measured."""
    from support import lambda_rie

    try:
        folder = BUILD / "rie"
        shutil.rmtree(folder, ignore_errors=True)
        app_dir = lambda_rie.package("prod", folder / "build")
        sam = json.loads((app_dir / "sam.json").read_text())
        task_root = lambda_rie.unzip(app_dir, folder / "task")
        props = lambda_rie.functions(sam)["api_handler"]
        samples = []
        for _ in range(runs):
            fn = lambda_rie.LambdaFunction(task_root, props, _overrides(env))
            fn.log.unlink(missing_ok=True)
            keeper.start()
            try:
                samples.append(_one_run(fn, event))
            finally:
                keeper.stop()
    except Exception as exc:  # noqa: BLE001 - an information row: say why it is missing
        log(f"the Lambda emulator row is not measured: {exc}")
        return {"reason": f"not measured: {str(exc)[-800:]}"}
    summary: dict[str, Any] = {"runs": runs, "samples": samples}
    for key in ("first_invoke_ms", "second_invoke_ms", "init_ms", "handler_ms"):
        summary[key] = statistics.median(s[key] for s in samples)
    summary["status"] = samples[-1]["status"]
    return summary
