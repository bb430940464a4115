"""Cold-start runner: one fresh process imports a handler module and (optionally) answers one
event. The driver starts it with BENCH_SPEC (JSON) and reads BENCH_OUT (JSON) afterwards.

Nothing but the stdlib modules a bare handler would load anyway comes before the import
being measured; the driver takes the time from just before it spawned this process to
the moment the response is back (CLOCK_MONOTONIC is system-wide on Linux).
"""

import time

STARTED_NS = time.monotonic_ns()
T0 = time.perf_counter()

import json  # noqa: E402 - after the first clock reading on purpose
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

WATCHED = ("boto3", "botocore", "pg8000", "pymemcache", "chalice.app", "urllib.request")


def _counters() -> dict[str, Any]:
    """The app's driver counters, without creating a driver that was not used."""
    found: dict[str, Any] = {}
    db_mod = sys.modules.get("chalicelib.db")
    if db_mod is not None and db_mod.database.cache_info().currsize:
        db = db_mod.database()
        found["statements"] = db.statements
        found["transactions"] = db.transactions
    cache_mod = sys.modules.get("chalicelib.cache")
    if cache_mod is not None and cache_mod.cache.cache_info().currsize:
        found["round_trips"] = cache_mod.cache().round_trips
    return found


def peak_rss_kib() -> int:
    """VmHWM of this process's memory map. Not ru_maxrss: Linux carries the parent's peak
    across fork+exec into ru_maxrss, so a child of a big driver would report the driver."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _profile(kind: str, profiler: Any) -> str:
    """cProfile's cumulative top 45, or tracemalloc's peak and the top allocating packages."""
    if kind == "cprofile":
        import io
        import pstats

        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
        return text.getvalue()
    if kind != "tracemalloc":
        return ""
    import tracemalloc

    current, peak = tracemalloc.get_traced_memory()
    by_package: dict[str, int] = {}
    for stat in tracemalloc.take_snapshot().statistics("filename"):
        path = stat.traceback[0].filename
        package = path.split("site-packages/")[-1] if "site-packages/" in path else path
        top = package.split("/")[0] if "site-packages/" in path else _short(path)
        by_package[top] = by_package.get(top, 0) + stat.size
    lines = [f"peak {peak / 1048576:.2f} MiB, still allocated {current / 1048576:.2f} MiB"]
    for name, size in sorted(by_package.items(), key=lambda kv: -kv[1])[:15]:
        lines.append(f"{size / 1024:9.1f} KiB  {name}")
    return "\n".join(lines)


def _short(path: str) -> str:
    """The stdlib's or the app's file, without the machine's folders."""
    for marker in ("/lib/python3", "/chalicelib/", "/app.py"):
        if marker in path:
            return path[path.index(marker) + 1 :]
    return path


def main() -> None:
    spec: dict[str, Any] = json.loads(os.environ["BENCH_SPEC"])
    for path in reversed(spec.get("path", [])):
        sys.path.insert(0, path)
    sys.path.extend(spec.get("site", []))  # started with -S: site-packages without .pth hooks
    event = spec.get("event")
    from events import Context

    kind = spec.get("profile") or ""
    profiler: Any = None
    if kind == "cprofile":
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    elif kind == "tracemalloc":
        import tracemalloc

        tracemalloc.start()
    t_import = time.perf_counter()
    module = __import__(spec["module"])
    t_imported = time.perf_counter()
    handler = getattr(module, spec["handler"])
    status: Any = None
    body = ""
    if event is not None:
        response = handler(event, Context())
        status = response.get("statusCode")
        body = str(response.get("body", ""))[:200]
    t_done = time.perf_counter()
    done_ns = time.monotonic_ns()
    profile = _profile(kind, profiler)
    out = {
        "started_ns": STARTED_NS,
        "done_ns": done_ns,
        "in_process_ms": (t_done - T0) * 1000,
        "import_ms": (t_imported - t_import) * 1000,
        "handler_ms": (t_done - t_imported) * 1000,
        "maxrss_kib": peak_rss_kib(),
        "status": status,
        "body": body,
        "loaded": [name for name in WATCHED if name in sys.modules],
        "modules": len(sys.modules),
        "counters": _counters(),
        "profile": profile,
    }
    with open(os.environ["BENCH_OUT"], "w") as fh:
        json.dump(out, fh)


main()
