"""(10) Peak memory of completing a 100 MiB upload (BENCH_UPLOAD_MIB), on the folder driver
and on S3 (moto), each completion in a fresh process (bench/child_upload.py); the target is
that it fits the dev stage's 512 MB function with room to spare: a constant plus one chunk."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from common import BENCH, PY, log, run_child
from report import Row, verdict

MIB_SIZE = int(os.environ.get("BENCH_UPLOAD_MIB", "100"))
TARGET_MIB = 128  # the function's 512 MB with room for everything else a request holds
_FOLDER_DROPS = (
    "AWS_LAMBDA_FUNCTION_NAME",  # a laptop: the embedded drivers, not Lambda's settings
    "FILES_BUCKET",
    "DATABASE_SECRET_ARN",
    "DATABASE_URL",
    "MEMCACHED_SERVERS",
    "QUEUE_URL",
)


def _envs(env: dict[str, str], data_dir: str) -> dict[str, dict[str, str]]:
    folder = {k: v for k, v in env.items() if k not in _FOLDER_DROPS}
    return {"folder": {**folder, "DATA_DIR": data_dir}, "s3": env}


def measure(env: dict[str, str], code_root: str | None = None) -> dict[str, Any]:
    """Stage, then complete in a fresh process; per store, or the reason it was not measured."""
    command = [PY, str(BENCH / "child_upload.py")]
    extra = {"BENCH_CODE_ROOT": code_root} if code_root else {}
    found: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as data_dir:
        for store, store_env in _envs(env, data_dir).items():
            log(f"completing a {MIB_SIZE} MiB upload ({store}) in a fresh process")
            try:
                staged = run_child(command, store_env, {"phase": "stage", "mib": MIB_SIZE}, store)
                spec = {"phase": "complete", **staged[0]}
                found[store] = run_child(command, {**store_env, **extra}, spec, store)[0]
            except Exception as exc:  # noqa: BLE001 - reported as "not measured", with why
                found[store] = {"reason": f"not measured: {str(exc)[-800:]}"}
    return found


def rows(results: dict[str, Any]) -> list[Row]:
    out = []
    for store, m in results.get("upload_memory", {}).items():
        figure = f"complete a {MIB_SIZE} MiB upload ({store}): peak memory"
        if "rss_peak_mib" not in m:
            out.append(Row("10", figure, "not measured", "", m.get("reason", "")[-200:], "FAIL"))
            continue
        grown = m["rss_peak_mib"] - m["rss_before_mib"]
        value = (
            f"RSS {m['rss_peak_mib']:.0f} MiB (+{grown:.0f}), traced {m['traced_peak_mib']:.1f} MiB"
        )
        ratios = f"{m['seconds']:.1f} s; {m['size'] / 2**20 / m['rss_peak_mib']:.2f}x body/RSS"
        target = f"RSS <= {TARGET_MIB} MiB"
        out.append(
            Row("10", figure, value, ratios, target, verdict(m["rss_peak_mib"] <= TARGET_MIB))
        )
    return out
