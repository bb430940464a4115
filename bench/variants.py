"""The kinds of fresh process `make bench` times: what each imports, which event it
answers, in what state the backends are, and its samples."""

from __future__ import annotations

import functools
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends import Backends, get_once
from common import (
    BENCH,
    BUILD,
    IDLE_SECONDS,
    KEEPER_EVERY_SECONDS,
    PY,
    REF_PY,
    ROOT,
    log,
    run_child,
)
from events import create_file_event, get_file_event
from package import unpack

Hook = Callable[[], None]


@functools.cache
def site_packages(python: str) -> str:
    """The interpreter's site-packages. Measured processes start with -S and put it on their
    path themselves: no .pth file runs, as none runs from Lambda's /var/task (the dev
    virtualenv's editable CLI install adds a finder that costs ~15 ms at every start)."""
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@dataclass
class Variant:
    """One kind of fresh process: what it imports, what event it answers, and with what."""

    name: str
    module: str
    handler: str
    event: dict[str, Any] | None = None
    path: list[str] = field(default_factory=list)
    python: str = PY
    env: dict[str, str] = field(default_factory=dict)
    before: Hook | None = None
    after: Hook | None = None
    make_event: Callable[[], dict[str, Any]] | None = None  # a new event for every run
    samples: list[dict[str, Any]] = field(default_factory=list)
    measure: str = ""  # "", "cprofile" or "tracemalloc"

    def run(self, base_env: dict[str, str], extra_args: tuple[str, ...] = ()) -> dict[str, Any]:
        if self.before is not None:
            self.before()
        try:
            event = self.make_event() if self.make_event is not None else self.event
            spec: dict[str, Any] = {"module": self.module, "handler": self.handler}
            spec.update(event=event, path=self.path, profile=self.measure)
            spec.update(site=[site_packages(self.python)])
            command = [self.python, "-S", *extra_args, str(BENCH / "child_cold.py")]
            spawned_ns = time.monotonic_ns()
            result, stderr = run_child(command, {**base_env, **self.env}, spec, self.name)
        finally:
            if self.after is not None:
                self.after()
        result["cold_ms"] = (result["done_ns"] - spawned_ns) / 1e6
        result["stderr"] = stderr
        return result

    def sample(self, base_env: dict[str, str]) -> None:
        result = self.run(base_env)
        result.pop("stderr")
        result.pop("profile")
        self.samples.append(result)

    def median(self, key: str) -> float:
        return float(statistics.median(s[key] for s in self.samples))

    def summary(self) -> dict[str, Any]:
        last = self.samples[-1]
        return {
            "runs": len(self.samples),
            "cold_ms": self.median("cold_ms"),
            "in_process_ms": self.median("in_process_ms"),
            "import_ms": self.median("import_ms"),
            "handler_ms": self.median("handler_ms"),
            "maxrss_mib": self.median("maxrss_kib") / 1024,
            "status": last["status"],
            "statuses": sorted({s["status"] for s in self.samples}, key=str),
            "loaded": last["loaded"],
            "loaded_runs": _loaded_runs(self.samples),
            "modules": last["modules"],
            "counters": last["counters"],
            "samples_cold_ms": [round(s["cold_ms"], 2) for s in self.samples],
            "samples_import_ms": [round(s["import_ms"], 2) for s in self.samples],
        }


def _loaded_runs(samples: list[dict[str, Any]]) -> dict[str, int]:
    """In how many runs each watched module was loaded (a cold hit loads pg8000 only when
    it had to ask the database)."""
    counts: dict[str, int] = {}
    for sample in samples:
        for name in sample["loaded"]:
            counts[name] = counts.get(name, 0) + 1
    return counts


class Keeper:
    """Another warm process reading the same file every KEEPER_EVERY_SECONDS: what keeps the
    key entry and the shared cache check fresh while a function scales out."""

    def __init__(self, env: dict[str, str], data: dict[str, str]) -> None:
        self.env, self.data = env, data
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        spec = f'{{"key": "{self.data["key"]}", "file_id": "{self.data["file_id"]}"}}'
        env = {**self.env, "BENCH_SPEC": spec, "BENCH_EVERY": str(KEEPER_EVERY_SECONDS)}
        command = [PY, str(BENCH / "child_keeper.py")]
        self._proc = subprocess.Popen(
            command, env=env, cwd=str(BUILD), stdout=subprocess.PIPE, text=True
        )
        assert self._proc.stdout is not None
        for _ in range(3):  # a few reads in: the steady state of a busy function
            if self._proc.stdout.readline().strip() != "200":
                raise RuntimeError("the keeper process could not read the bench file")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)


def _baselines(hello_event: dict[str, Any]) -> list[Variant]:
    base = str(BENCH / "baselines")
    found = [
        Variant("bare", "bare", "handler", hello_event, [base]),
        Variant("hello", "hello_chalice", "app", hello_event, [base]),
        Variant("import_hello", "hello_chalice", "app", None, [base]),
    ]
    if Path(REF_PY).exists():
        found.append(Variant("fastapi", "hello_fastapi", "handler", hello_event, [base], REF_PY))
    else:
        log(f"no {REF_PY}: the FastAPI reference is not measured (make bench creates it)")
    return found


def _app_variants(backends: Backends, data: dict[str, str], shipped: Path | None) -> list[Variant]:
    """The app's cold requests, run from what ships: the lean zip (`make package`) unpacked
    read-only as Lambda's /var/task, or the tree if it could not be built. The import row
    compares with Chalice's hello world, so it runs from the tree as hello does."""
    event = get_file_event(data["key"], data["file_id"])
    root = [str(ROOT)]
    task = [str(shipped)] if shipped else root
    lambda_like = {"PYTHONDONTWRITEBYTECODE": "1"} if shipped else {}
    keeper = Keeper(backends.env, data)

    def after_idle() -> None:
        get_once(event)
        time.sleep(IDLE_SECONDS)

    def new_file() -> dict[str, Any]:
        return create_file_event(data["key"], f"cold-{uuid.uuid4().hex}.txt", data["body"])

    return [
        Variant("import_app", "app", "app", None, root),
        Variant(
            "app_miss", "app", "app", event, task, env=lambda_like, before=backends.flush_cache
        ),
        Variant(
            "app_hit_load",
            "app",
            "app",
            event,
            task,
            env=lambda_like,
            before=keeper.start,
            after=keeper.stop,
        ),
        Variant("app_hit_idle", "app", "app", event, task, env=lambda_like, before=after_idle),
        Variant("app_post", "app", "app", None, task, env=lambda_like, make_event=new_file),
    ]


def _zip_variants(backends: Backends, data: dict[str, str], zips: dict[str, Any]) -> list[Variant]:
    event = get_file_event(data["key"], data["file_id"])
    lambda_like = {"PYTHONDONTWRITEBYTECODE": "1"}
    found = []
    for label, zip_name in (("nopyc", "chalice"), ("pyc", "precompiled"), ("lean", "lean")):
        if zip_name not in zips:
            continue
        task = [str(unpack(Path(zips[zip_name]["path"]), zip_name))]
        if label != "lean":
            miss = Variant(f"zip_miss_{label}", "app", "app", event, task, env=lambda_like)
            miss.before = backends.flush_cache
            found.append(miss)
        hit = Variant(f"zip_hit_{label}", "app", "app", event, task, env=lambda_like)
        hit.before = lambda: get_once(event)
        found.append(hit)
    return found


def make_variants(
    backends: Backends, data: dict[str, str], package: dict[str, Any]
) -> dict[str, Variant]:
    hello_event = get_file_event("", "hello")
    lean = package.get("zips", {}).get("lean")
    shipped = unpack(Path(lean["path"]), "shipped") if lean else None
    if shipped is None:
        log("no lean zip: the app's cold rows run from the tree")
    variants = _baselines(hello_event) + _app_variants(backends, data, shipped)
    variants += _zip_variants(backends, data, package.get("zips", {}))
    return {v.name: v for v in variants}
