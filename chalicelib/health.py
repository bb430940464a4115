"""The deep health check: every backend answers, or the service is not healthy."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalicelib import logs
from chalicelib.blobs import blobs
from chalicelib.cache import cache
from chalicelib.db import database
from chalicelib.queue import queue


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


def check() -> tuple[bool, dict[str, Any]]:
    checks = {name: _timed(fn) for name, fn in CHECKS.items()}
    healthy = all(c["status"] == "ok" for c in checks.values())
    return healthy, {"status": "ok" if healthy else "unavailable", "checks": checks}
