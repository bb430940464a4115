"""BENCH_PYTHONS: rows 1-4 under other interpreters, beside the runtime's, in the same run.

Each other Python X.Y runs from its own virtualenv (.venv-bench-pyX.Y, mk/bench.mk: the app's
runtime dependencies, Chalice and the FastAPI reference) the same kinds of fresh process as
the runtime's rows 1-4: the bare handler, Chalice's hello, both imports, the cold hit during
load and the cold miss, from the zip that `make package` ships, precompiled by that Python,
and FastAPI + Mangum. Their runs are interleaved with the runtime's, so machine load
touches them all alike; every ratio is within one interpreter (their start-up differs).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from backends import Backends
from common import BENCH, BUILD, ROOT
from events import get_file_event
from package import unpack
from report import verdict
from variants import Keeper, Variant

VERSIONS = os.environ.get("BENCH_PYTHONS", "").replace(",", " ").split()
# The cold kinds behind rows 1-4 (and the baselines their ratios need).
KINDS = ("bare", "hello", "import_hello", "import_app", "app_hit_load", "app_miss", "fastapi")


def python_of(version: str) -> str:
    return str(ROOT / f".venv-bench-py{version}" / "bin" / "python")


def _lean_zip(python: str, version: str, plain: Path) -> Path:
    """The shipped zip's options (tools/precompile_zip.py as mk/deploy.mk runs it), compiled
    by *python*: bytecode of its own version."""
    out = BUILD / f"lean-py{version}.zip"
    command = [python, str(ROOT / "tools" / "precompile_zip.py"), str(plain), "-o", str(out)]
    command += ["--exclude", "tzdata/", "--exclude", "tzdata-", "--sourceless-deps"]
    command += ["--expect-tag", "cpython-" + version.replace(".", "")]
    subprocess.run(command, check=True, capture_output=True)
    return out


def variants(
    backends: Backends, data: dict[str, str], package: dict[str, Any]
) -> dict[str, Variant]:
    """The kinds of rows 1-4 for each version of BENCH_PYTHONS, named `KIND@X.Y`."""
    plain = package.get("zips", {}).get("chalice", {}).get("path")
    if not VERSIONS or plain is None:
        return {}
    hello_event = get_file_event("", "hello")
    event = get_file_event(data["key"], data["file_id"])
    base = [str(BENCH / "baselines")]
    keeper = Keeper(backends.env, data)
    lambda_like = {"PYTHONDONTWRITEBYTECODE": "1"}
    found: dict[str, Variant] = {}
    for version in VERSIONS:
        python = python_of(version)
        task = [str(unpack(_lean_zip(python, version, Path(plain)), f"shipped-py{version}"))]
        for variant in (
            Variant("bare", "bare", "handler", hello_event, base),
            Variant("hello", "hello_chalice", "app", hello_event, base),
            Variant("import_hello", "hello_chalice", "app", None, base),
            Variant("import_app", "app", "app", None, [str(ROOT)]),
            Variant("app_hit_load", "app", "app", event, task, env=lambda_like,
                    before=keeper.start, after=keeper.stop),
            Variant("app_miss", "app", "app", event, task, env=lambda_like,
                    before=backends.flush_cache),
            Variant("fastapi", "hello_fastapi", "handler", hello_event, base),
        ):  # fmt: skip
            variant.name, variant.python = f"{variant.name}@{version}", python
            found[variant.name] = variant
    return found


def _version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def _fastest(cold: dict[str, Any], kind: str, base: str, key: str = "samples_cold_ms") -> float:
    """The ratio of the fastest runs of two kinds: what a busy machine (other processes on
    its cores) slows down least, beside the medians the targets are judged on."""
    return float(min(cold[kind][key]) / min(cold[base][key]))


def table(results: dict[str, Any]) -> str:
    """Rows 1-4 for the runtime's Python and each of BENCH_PYTHONS, side by side (markdown):
    each ratio of medians (judged against its target), then the ratio of the fastest runs."""
    if not VERSIONS:
        return ""
    head = (
        "| Python | bare | hello | FastAPI | 1 import (<= 1.1x hello) | 2 hit during load"
        " (<= 3.0x bare) | 3 miss (<= 0.5x FastAPI) | 4 peak RSS of 3 (<= 32 MiB) |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for suffix, python in [("", sys.executable), *((f"@{v}", python_of(v)) for v in VERSIONS)]:
        cold: dict[str, Any] = {kind: results["cold"].get(kind + suffix) for kind in KINDS}
        if any(c is None for c in cold.values()):
            lines.append(f"| {_version(python)} | not measured |")
            continue
        bare, hello, fastapi = (cold[k]["cold_ms"] for k in ("bare", "hello", "fastapi"))
        imp = cold["import_app"]["import_ms"] / cold["import_hello"]["import_ms"]
        hit = cold["app_hit_load"]["cold_ms"] / bare
        miss = cold["app_miss"]["cold_ms"] / fastapi
        rss = cold["app_miss"]["maxrss_mib"]
        fast_imp = _fastest(cold, "import_app", "import_hello", "samples_import_ms")
        fast_hit = _fastest(cold, "app_hit_load", "bare")
        fast_miss = _fastest(cold, "app_miss", "fastapi")
        cells = [
            _version(python),
            f"{bare:.1f} ms",
            f"{hello:.1f} ms",
            f"{fastapi:.1f} ms",
            f"{imp:.2f}x ({cold['import_app']['import_ms']:.1f} ms) {verdict(imp <= 1.1)};"
            f" fastest {fast_imp:.2f}x",
            f"{hit:.2f}x ({cold['app_hit_load']['cold_ms']:.1f} ms) {verdict(hit <= 3.0)};"
            f" fastest {fast_hit:.2f}x",
            f"{miss:.2f}x ({cold['app_miss']['cold_ms']:.1f} ms) {verdict(miss <= 0.5)};"
            f" fastest {fast_miss:.2f}x",
            f"{rss:.1f} MiB {verdict(rss <= 32)}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return head + "\n".join(lines)
