"""`make bench`: cold start, memory, warm latency, backend round trips, package size, export
throughput and the peak memory of completing a large upload of textfiles, against baselines
measured in the same run (docs/bench.md).

Starts a throwaway PostgreSQL, memcached and moto server (bench/backends.py), prepares a
tenant and files, runs every cold measurement in fresh processes of the virtualenv's real
interpreter with a Lambda-like environment (bench/variants.py), prints a table
(bench/targets.py, bench/report.py) and writes bench/results.json.

Settings (environment): BENCH_RUNS (cold runs per variant, default 15), BENCH_WARM_RUNS
(cached GETs timed in one process, default 2000), BENCH_POST_RUNS (default 200),
BENCH_EXPORT_FILES (default 1000), BENCH_EXPORT_RUNS (default 2), BENCH_UPLOAD_MIB (the
completed upload's size, default 100), BENCH_RIE_RUNS (fresh
Lambda emulators, default 5; 0 skips them), BENCH_REF_PYTHON (the FastAPI reference's
interpreter, default .venv-bench-ref/bin/python), BENCH_PYTHONS (other interpreters, e.g.
"3.11 3.12": rows 1-4 under each, beside the runtime's, bench/pythons.py).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench"), str(ROOT / "tools")]

import pythons  # noqa: E402
import rie  # noqa: E402
import targets  # noqa: E402
import upload_memory  # noqa: E402
from backends import Backends, prepare, start_backends  # noqa: E402
from common import (  # noqa: E402
    BENCH,
    BUILD,
    EXPORT_FILES,
    EXPORT_RUNS,
    POST_RUNS,
    PY,
    RIE_RUNS,
    RUNS,
    WARM_RUNS,
    log,
    run_child,
)
from events import get_file_event  # noqa: E402
from package import build_zips  # noqa: E402
from profiles import profiles  # noqa: E402
from report import markdown, table  # noqa: E402
from variants import Keeper, make_variants  # noqa: E402


def cold_starts(backends: Backends, data: dict[str, str], results: dict[str, Any]) -> None:
    """Every variant RUNS times, round-robin, after one unmeasured run each (OS file cache)."""
    env = backends.env
    variants = make_variants(backends, data, results["package"])
    variants.update(pythons.variants(backends, data, results["package"]))
    for variant in variants.values():
        variant.run(env)
    log(f"cold starts: {len(variants)} variants x {RUNS} runs, interleaved")
    for _ in range(RUNS):
        for variant in variants.values():
            variant.sample(env)
    results["cold"] = {name: v.summary() for name, v in variants.items()}
    log("profiles (-X importtime, cProfile, tracemalloc)")
    results["profiles"] = profiles(variants, env)


def in_process(env: dict[str, str], data: dict[str, str], results: dict[str, Any]) -> None:
    log(f"warm: {WARM_RUNS} cached GETs, {POST_RUNS} POSTs; round trips per request")
    spec = {**data, "get_runs": WARM_RUNS, "post_runs": POST_RUNS}
    command = [PY, str(BENCH / "child_inproc.py")]
    results["inproc"] = run_child(command, env, spec, "child_inproc.py")[0]
    log(f"export: {EXPORT_FILES} files, {EXPORT_RUNS} runs")
    try:
        command = [PY, str(BENCH / "child_export.py")]
        spec = {"files": EXPORT_FILES, "runs": EXPORT_RUNS}
        results["export"] = run_child(command, env, spec, "child_export.py")[0]
    except Exception as exc:  # noqa: BLE001 - reported as "not measured", with the reason
        results["export"] = {"reason": f"not measured: {str(exc)[-800:]}"}
    results["upload_memory"] = upload_memory.measure(env)


def measure(backends: Backends, results: dict[str, Any]) -> None:
    data = prepare(backends)
    log("building the deployment zip")
    results["package"] = build_zips(backends.env)
    cold_starts(backends, data, results)
    in_process(backends.env, data, results)
    if RIE_RUNS:
        log(f"the packaged zip under the Lambda emulator: {RIE_RUNS} runs")
        event = get_file_event(data["key"], data["file_id"])
        results["rie"] = rie.measure(backends.env, event, Keeper(backends.env, data), RIE_RUNS)


def main() -> int:
    started = time.perf_counter()
    BUILD.mkdir(parents=True, exist_ok=True)
    backends = start_backends()
    results: dict[str, Any] = {
        "python": sys.version.split()[0],
        "runs": RUNS,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    try:
        measure(backends, results)
    finally:
        backends.stop()
    rows = [row for figure in targets.FIGURES for row in figure(results)]
    results["table"] = [r.cells() for r in rows]
    results["table_markdown"] = markdown(rows)
    results["pythons_markdown"] = pythons.table(results)
    results["seconds"] = time.perf_counter() - started
    (BENCH / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print(table(rows))
    if results["pythons_markdown"]:
        print("\nRows 1-4 by interpreter, in the same run (BENCH_PYTHONS):\n")
        print(results["pythons_markdown"])
    print(f"\n{len(rows)} rows in {results['seconds']:.0f} s; details in bench/results.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
