"""The long poll (docs/changes.md): hold a request until a change arrives or `wait` runs out.

A waiting request holds a Lambda instance (and a unit of the API's reserved concurrency) the
whole time, so a tenant may hold at most WAITERS_PER_TENANT at once; one more is a 429 with
Retry-After. While waiting, the feed is read again with backoff (one indexed statement each
time, at most about 25 in 20 s), never in a busy loop.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from chalicelib import racepoints
from chalicelib.changes import feed
from chalicelib.changes.store import Change
from chalicelib.errors import BadRequest, RateLimited

MAX_WAIT_S = 20  # well under API Gateway's 29 s and the API function's 28 s timeout
WAITERS_PER_TENANT = 5
RETRY_AFTER_S = 5
_BACKOFF_S = (0.25, 0.25, 0.5, 0.5, 1.0)  # then 1 s between reads
_WAIT = re.compile(r"[0-9]{1,2}")


def parse_wait(raw: str | None) -> int:
    if raw is None:
        return 0
    if _WAIT.fullmatch(raw) is None or int(raw) > MAX_WAIT_S:
        raise BadRequest(f"wait must be a whole number of seconds from 0 to {MAX_WAIT_S}.")
    return int(raw)


def _key(tenant_id: str) -> str:
    return f"tf:cw:{tenant_id}"


@contextmanager
def _waiter(tenant_id: str) -> Iterator[None]:
    """Count this request among the tenant's waiters (shared: memcached incr; per process while
    the cache is down, like every spend guard) for as long as it waits."""
    from chalicelib.tenants import limits

    ttl = MAX_WAIT_S + 40  # a waiter that died uncounted is forgotten within a minute
    if limits.count(_key(tenant_id), 1, ttl) > WAITERS_PER_TENANT:
        limits.count(_key(tenant_id), -1, ttl)
        raise RateLimited(
            f"At most {WAITERS_PER_TENANT} requests of a tenant may wait for changes at once;"
            f" retry in {RETRY_AFTER_S} s.",
            retry_after=RETRY_AFTER_S,
        )
    try:
        yield
    finally:
        limits.count(_key(tenant_id), -1, ttl)


def follow(tenant_id: str, after: int | None, limit: int, wait_s: int) -> tuple[list[Change], int]:
    """The changes after `after` (None: from the oldest kept) and the next cursor's number;
    with `wait_s`, none yet: wait up to that long for the first ones."""
    changes, head = feed.page(tenant_id, after, limit)
    if changes or wait_s <= 0:
        return changes, head
    deadline = time.monotonic() + wait_s
    with _waiter(tenant_id):
        racepoints.point("changes.waiting")
        for attempt in range(10_000):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, _BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)]))
            changes, head = feed.page(tenant_id, head, limit)
            if changes:
                break
    return changes, head
