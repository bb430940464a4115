"""What a cold request spends its time and memory on: `-X importtime`, cProfile and the
tracemalloc peak of the app's own allocations, each from one more fresh process."""

from __future__ import annotations

import dataclasses
from typing import Any

from variants import Variant

IMPORTTIME = (
    ("import_app", False),
    ("app_hit_idle", True),
    ("app_miss", True),
    ("app_post", True),
)
PROFILED = ("app_hit_load", "app_hit_idle", "app_miss", "app_post")


def importtime_top(stderr: str, lazy: bool, top: int = 15) -> list[dict[str, Any]]:
    """`-X importtime` lines of the `app` import (lazy: of the imports after it, made while
    handling the event), the largest cumulative first."""
    rows: list[dict[str, Any]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        head, cumulative, name = line.split("|")
        rows.append(
            {
                "module": name.strip(),
                "depth": (len(name) - len(name.lstrip()) - 1) // 2,
                "self_ms": int(head.split(":")[1]) / 1000,
                "cumulative_ms": int(cumulative) / 1000,
            }
        )
    end = next(i for i, r in enumerate(rows) if r["depth"] == 0 and r["module"] == "app")
    if lazy:
        rows = rows[end + 1 :]
    else:
        start = max((i for i in range(end) if rows[i]["depth"] == 0), default=-1) + 1
        rows = rows[start : end + 1]
    rows.sort(key=lambda r: -r["cumulative_ms"])
    return rows[:top]


def profiles(variants: dict[str, Variant], base_env: dict[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {"importtime": {}, "cprofile": {}, "tracemalloc": {}}
    for name, lazy in IMPORTTIME:
        result = variants[name].run(base_env, ("-X", "importtime"))
        found["importtime"][name] = importtime_top(result["stderr"], lazy)
    for name in PROFILED:
        for kind in ("cprofile", "tracemalloc"):
            variant = dataclasses.replace(variants[name], samples=[], measure=kind)
            found[kind][name] = variant.run(base_env)["profile"]
    return found
