"""One JSON object per line. Secrets, keys and file bodies never go in a line."""

from __future__ import annotations

import contextvars
import json
import sys
import time
from typing import Any

from chalicelib import config

_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("log_context")
_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
_last_warning: dict[str, float] = {}
# What json.dumps(line, default=str, separators=(",", ":")) does, without a new encoder per line.
_encode = json.JSONEncoder(default=str, separators=(",", ":")).encode


def reset_state() -> None:
    """Forget this thread's context and the throttled warnings' times."""
    _context.set({})
    _last_warning.clear()


def bind(**fields: Any) -> None:
    """Add fields (request id, tenant, route...) to every later line of this request."""
    current = dict(_context.get({}))
    current.update(fields)
    _context.set(current)


def reset(**fields: Any) -> None:
    _context.set(dict(fields))


def context() -> dict[str, Any]:
    return dict(_context.get({}))


def _threshold() -> int:
    return _LEVELS.get(config.get("LOG_LEVEL").lower(), 20)


def log(level: str, message: str, **fields: Any) -> None:
    if _LEVELS[level] < _threshold():
        return
    line: dict[str, Any] = {"level": level, "message": message, "time": time.time()}
    line.update(_context.get({}))
    line.update(fields)
    sys.stdout.write(_encode(line) + "\n")
    sys.stdout.flush()


def info(message: str, **fields: Any) -> None:
    log("info", message, **fields)


def warning(message: str, **fields: Any) -> None:
    log("warning", message, **fields)


def error(message: str, **fields: Any) -> None:
    log("error", message, **fields)


def warning_throttled(key: str, message: str, every_s: float = 10.0, **fields: Any) -> None:
    """A warning at most once per interval per key, so an outage does not flood the logs."""
    now = time.monotonic()
    if now - _last_warning.get(key, -every_s) >= every_s:
        _last_warning[key] = now
        warning(message, **fields)
