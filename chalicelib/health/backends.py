"""The deep health check: every backend answers, or the service is not healthy.

Anyone may call it, so it is bounded: a healthy report is reused for HEALTH_CACHE_SECONDS
(5 s), one check runs at a time in a process, and each address may ask
HEALTH_PER_WINDOW times (60) per rate-limit window. It only observes: a check never ends
the cache's bypass or makes its entries trusted again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib import config, logs
from chalicelib.blobs import blobs
from chalicelib.cache import cache
from chalicelib.db import database
from chalicelib.errors import RateLimited
from chalicelib.queue import queue
from chalicelib.tenants import limits


def _database() -> dict[str, Any]:
    db = database()
    db.query("SELECT 1 AS ok")
    return {"driver": db.dialect}


def _storage() -> dict[str, Any]:
    store = blobs()
    store.ping()
    return {"driver": store.name}


def _timed(check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = {"status": "ok", **check()}
    except Exception as exc:  # noqa: BLE001 - a failing backend is what we report
        logs.warning("health check failed", check=check.__name__, error=type(exc).__name__)
        result = {"status": "unavailable", "error": type(exc).__name__}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "database": _database,
    "cache": lambda: cache().health(),
    "storage": _storage,
    "queue": lambda: queue().stats(),
}


def _deep() -> tuple[bool, dict[str, Any]]:
    checks = {name: _timed(fn) for name, fn in CHECKS.items()}
    healthy = all(c["status"] == "ok" for c in checks.values())
    return healthy, {"status": "ok" if healthy else "unavailable", "checks": checks}


_lock = threading.Lock()
# The last healthy report: (the cache it was made with, until when, the report).
_last: tuple[object, float, dict[str, Any]] | None = None


def reset_state() -> None:
    global _last
    with _lock:
        _last = None


def check(source: str = "unknown") -> tuple[bool, dict[str, Any]]:
    """The deep check, or a healthy report at most HEALTH_CACHE_SECONDS old."""
    global _last
    _limit(source)
    with _lock:
        owner, now = cache(), time.monotonic()
        if _last is not None and _last[0] is owner and now < _last[1]:
            return True, _last[2]
        healthy, report = _deep()
        ttl = config.get_float("HEALTH_CACHE_SECONDS")
        _last = (owner, now + ttl, report) if healthy else None
        return healthy, report


def _limit(source: str) -> None:
    allowed = config.get_int("HEALTH_PER_WINDOW")
    current = limits.window()
    used = limits.count(f"tf:hl:{source}:{current.number}", 1, limits.counter_ttl(current))
    if used > allowed:
        raise RateLimited(
            f"At most {allowed} health checks per {current.size_s} s;"
            f" retry in {current.reset_s} s.",
            retry_after=current.reset_s,
        )
