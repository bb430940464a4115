"""Time in integer microseconds since the epoch; tests replace `now_us`."""

from __future__ import annotations

import time
from datetime import UTC, datetime

DAY_US = 86_400_000_000


def now_us() -> int:
    return time.time_ns() // 1000


def iso(us: int) -> str:
    dt = datetime.fromtimestamp(us / 1_000_000, tz=UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def http_date(us: int) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(us // 1_000_000))
