"""In-process measurements: statements and cache round trips per request (6), warm
latency per request (5), and the warm reference (Chalice hello dispatch, then one raw
memcached round trip). Settings come from the environment; BENCH_SPEC names the key and file."""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "bench" / "baselines")]

from events import (  # noqa: E402
    Context,
    changes_event,
    create_file_event,
    get_file_event,
    list_files_event,
)


def sample_us(call: Callable[[], Any], runs: int) -> list[float]:
    """The time of each of `runs` calls, in microseconds."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - started) / 1000)
    return samples


def summarise(samples: list[float]) -> dict[str, float]:
    """Median, mean and p90, in microseconds."""
    samples = sorted(samples)
    runs = len(samples)
    return {
        "median_us": statistics.median(samples),
        "mean_us": statistics.fmean(samples),
        "p90_us": samples[int(len(samples) * 0.9) - 1],
        "runs": runs,
    }


class Probe:
    """Counts what one request costs: statements, transactions, cache trips, S3 calls."""

    def __init__(self) -> None:
        from chalicelib.cache import cache
        from chalicelib.db import database

        self.db = database()
        self.cache = cache()
        self.s3_calls = 0
        self._hooked = False

    def hook_s3(self) -> None:
        """Count S3 API calls through botocore's event hooks (once the client exists)."""
        from chalicelib.aws import clients

        if self._hooked or not clients.client.cache_info().currsize:
            return
        clients.client("s3").meta.events.register("before-call.s3", self._count)
        self._hooked = True

    def _count(self, **_: Any) -> None:
        self.s3_calls += 1

    def snapshot(self) -> tuple[int, int, int, int]:
        """S3 calls: botocore's (hooked) and the signed read path's own count."""
        from chalicelib.aws import clients

        reader = clients.client("s3", signed=True)
        signed = int(getattr(reader, "calls", 0)) if reader is not clients.client("s3") else 0
        s3 = self.s3_calls + signed
        return self.db.statements, self.db.transactions, self.cache.round_trips, s3

    def measure(self, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        before = self.snapshot()
        response = call()
        after = self.snapshot()
        names = ("statements", "transactions", "cache_round_trips", "s3_calls")
        result: dict[str, Any] = {n: a - b for n, a, b in zip(names, after, before, strict=True)}
        result["status"] = response["statusCode"]
        return result


def profile_top(call: Callable[[], Any], runs: int, top: int = 25) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        call()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> None:
    spec: dict[str, Any] = json.loads(os.environ["BENCH_SPEC"])
    key, file_id = spec["key"], spec["file_id"]
    get_runs, post_runs = int(spec["get_runs"]), int(spec["post_runs"])

    from app import app
    from chalicelib.files import writes
    from chalicelib.tenants import apikeys

    context = Context(budget_ms=3_600_000)
    get_event = get_file_event(key, file_id)

    def get() -> dict[str, Any]:
        response: dict[str, Any] = app(get_event, context)
        if response["statusCode"] != 200:
            raise RuntimeError(f"GET answered {response['statusCode']}: {response['body']}")
        return response

    def post() -> dict[str, Any]:
        name = f"warm-{uuid.uuid4().hex}.txt"
        response: dict[str, Any] = app(create_file_event(key, name, "hello, bench\n"), context)
        if response["statusCode"] != 201:
            raise RuntimeError(f"POST answered {response['statusCode']}: {response['body']}")
        return response

    def list_() -> dict[str, Any]:
        response: dict[str, Any] = app(list_files_event(key), context)
        return response

    def changes() -> dict[str, Any]:
        response: dict[str, Any] = app(changes_event(key), context)
        return response

    def forget(*keys: str) -> None:
        from chalicelib.cache import cache

        cache().delete_many(list(keys))

    # Warm up: drivers chosen, connections open, migrations checked, S3 client built.
    get()
    post()
    probe = Probe()
    probe.hook_s3()
    get()
    key_entry = apikeys.cache_key(apikeys.hash_key(key))
    counts = {
        "get_hit": probe.measure(get),
        "get_miss": None,
        "get_miss_cold_key": None,
        "list": probe.measure(list_),
        "create": probe.measure(post),
        "changes": probe.measure(changes),
    }
    forget(writes.meta_key(file_id), writes.body_key(file_id))
    counts["get_miss"] = probe.measure(get)
    forget(key_entry, writes.meta_key(file_id), writes.body_key(file_id))
    counts["get_miss_cold_key"] = probe.measure(get)
    counts["get_hit_after"] = probe.measure(get)

    # Warm latency, one process. The app's GET and its reference are timed in alternating
    # blocks, so that load drifting on the machine weighs on both sides of the ratio alike.
    # The reference is what a cached GET cannot do without: Chalice's hello dispatch, then
    # one raw memcached round trip, in one call as a request makes them. Each part is also
    # timed on its own: a tight loop of either pays no wake-up after the other's work, so
    # their sum is lower than the call (docs/bench.md, "Warm (5)").
    from hello_chalice import app as hello
    from pymemcache.client.base import Client as Memcache

    hello_event = get_file_event("", "hello")
    host, _, port = os.environ["MEMCACHED_SERVERS"].partition(":")
    raw = Memcache((host, int(port)), no_delay=True, connect_timeout=1, timeout=1)
    calls: dict[str, Callable[[], Any]] = {
        "get_cached": get,
        "hello_then_get": lambda: (hello(hello_event, context), raw.get(key_entry)),
        "hello_dispatch": lambda: hello(hello_event, context),
        "memcached_get": lambda: raw.get(key_entry),
    }
    blocks = 10
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(blocks):
        for name, call in calls.items():
            samples[name].extend(sample_us(call, max(1, get_runs // blocks)))
    warm = {name: summarise(values) for name, values in samples.items()}
    warm["post"] = summarise(sample_us(post, post_runs))

    profiles = {"get_cached": profile_top(get, min(get_runs, 500))}
    with open(os.environ["BENCH_OUT"], "w") as fh:
        json.dump({"counts": counts, "warm": warm, "profiles": profiles}, fh)


if __name__ == "__main__":
    main()
