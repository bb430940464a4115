"""Spend guards: per-tenant request rates, failed-key rates per address, and quotas."""

from __future__ import annotations

import threading
from typing import NamedTuple

from chalicelib import clock, config, logs
from chalicelib.cache import cache
from chalicelib.errors import QuotaExceeded, RateLimited
from chalicelib.tenants import store

OVERRIDES = ("rate_limit", "max_files", "max_bytes", "max_running_tasks")


class RateState(NamedTuple):
    limit: int
    remaining: int
    reset_s: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }


class Window(NamedTuple):
    """A fixed window: its number (which names its counters), the seconds until it ends,
    and its length. Read once per request, so all of a request's counters share one."""

    number: int
    reset_s: int
    size_s: int


def window_s() -> int:
    return max(1, config.get_int("RATE_LIMIT_WINDOW_SECONDS"))


def window() -> Window:
    size = window_s()
    now_s = clock.now_us() / 1_000_000
    number = int(now_s // size)
    return Window(number, max(1, int((number + 1) * size - now_s + 0.999)), size)


def counter_ttl(current: Window) -> int:
    """A window's counters outlive it by a minute: a request that read the window as it
    ended still finds them."""
    return current.size_s + 60


def default(name: str) -> int:
    defaults = {
        "rate_limit": "RATE_LIMIT_PER_WINDOW",
        "max_files": "QUOTA_MAX_FILES",
        "max_bytes": "QUOTA_MAX_BYTES",
        "max_running_tasks": "QUOTA_MAX_RUNNING_TASKS",
    }
    return config.get_int(defaults[name])


def limit(overrides: dict[str, int | None], name: str) -> int:
    value = overrides.get(name)
    return default(name) if value is None else int(value)


def rate_key(tenant_id: str, current: Window) -> str:
    return f"tf:rl:{tenant_id}:{current.number}"


# Counts of this process only, used while the shared cache is unreachable. Keys carry their
# window's number, so a new window starts from zero; the map is cleared when it fills.
_LOCAL_MAX = 10_000
_local: dict[str, int] = {}
_local_lock = threading.Lock()


def reset_state() -> None:
    with _local_lock:
        _local.clear()


def _count_locally(key: str, delta: int) -> int:
    with _local_lock:
        if len(_local) >= _LOCAL_MAX:
            _local.clear()
        value = max(0, _local.get(key, 0) + delta)
        _local[key] = value
        return value


def count(key: str, delta: int, ttl: int) -> int:
    """Add delta to a shared counter (atomic memcached incr); this process's own count when
    the cache is down, so a guard never switches off (each process then allows the limit)."""
    value = cache().incr(key, delta, ttl)
    if value is None:
        logs.warning_throttled("count-local", "spend guards counted per process: cache unavailable")
        return _count_locally(key, delta)
    return value


def check_rate(
    tenant_id: str, overrides: dict[str, int | None], current: Window, counted: int | None
) -> RateState:
    """Count this request in the tenant's window; over the limit is a 429.

    The counter is an atomic memcached incr, so every process shares one limit. `counted`
    is its value after this request when the gate already sent the incr (pipelined with its
    reads); None: not sent, or the cache did not answer, so it is counted here (`count`:
    per process while the cache is down).
    """
    allowed = limit(overrides, "rate_limit")
    used = counted
    if used is None:
        used = count(rate_key(tenant_id, current), 1, counter_ttl(current))
    state = RateState(allowed, max(0, allowed - used), current.reset_s)
    if used > allowed:
        raise RateLimited(
            f"Rate limit of {allowed} requests per {current.size_s} s exceeded;"
            f" retry in {current.reset_s} s.",
            retry_after=current.reset_s,
            headers=state.headers(),
        )
    return state


def auth_failure_key(source: str, current: Window) -> str:
    return f"tf:af:{source}:{current.number}"


def check_auth_failures(failures: int, current: Window) -> None:
    """Refuse an address that failed authentication too often in this window."""
    if failures >= config.get_int("AUTH_FAILURES_PER_WINDOW"):
        raise RateLimited(
            f"Too many failed authentications from your address; retry in {current.reset_s} s.",
            retry_after=current.reset_s,
        )


def count_auth_failure(source: str, current: Window) -> None:
    """Count one attempt that may fail, then check: past the limit it is a 429. Counted
    before the key is looked up, so a parallel burst cannot try more keys than the limit."""
    failures = count(auth_failure_key(source, current), 1, counter_ttl(current))
    check_auth_failures(failures - 1, current)


def refund_auth_failure(source: str, current: Window) -> None:
    """The attempt counted by `count_auth_failure` presented a valid key after all."""
    count(auth_failure_key(source, current), -1, counter_ttl(current))


def pending_bytes(tenant_id: str) -> int:
    """Bytes reserved by the tenant's uploads (chalicelib/files/uploads.py): counted until
    their staging objects are deleted."""
    return store.pending_bytes(tenant_id)


def check_storage(
    tenant_id: str,
    overrides: dict[str, int | None],
    files: int,
    size: int,
    reservation: str | None = None,
) -> None:
    """Inside the writing transaction: refuse a write that would pass a storage quota.

    Locking the tenant's row serialises concurrent writers of one tenant, so two requests
    cannot both take the last free place; the row holds the tenant's counters, so the check
    costs the same for 1 file or 1,000,000. `reservation`: the staging key of the upload this
    write files; what it still reserves (read after the sum that counted it) is already
    counted, so only the rest of `size` needs room.
    """
    used_files, used_bytes = store.lock_stored(tenant_id)
    used_bytes += pending_bytes(tenant_id)
    if reservation is not None:
        size -= store.reserved_bytes(tenant_id, reservation)
    max_files, max_bytes = limit(overrides, "max_files"), limit(overrides, "max_bytes")
    if files > 0 and used_files + files > max_files:
        raise QuotaExceeded(
            f"Quota exceeded: files ({used_files} of {max_files} used).",
            quota="files",
            used=used_files,
            limit=max_files,
        )
    if size > 0 and used_bytes + size > max_bytes:
        raise QuotaExceeded(
            f"Quota exceeded: bytes ({used_bytes} of {max_bytes} used, this write needs {size}).",
            quota="bytes",
            used=used_bytes,
            limit=max_bytes,
        )


def check_tasks(tenant_id: str, overrides: dict[str, int | None]) -> None:
    """Inside the transaction that creates a task: refuse one past the running-tasks quota."""
    store.lock(tenant_id)
    running = store.running_tasks(tenant_id)
    allowed = limit(overrides, "max_running_tasks")
    if running + 1 > allowed:
        raise QuotaExceeded(
            f"Quota exceeded: running tasks ({running} of {allowed} running).",
            quota="tasks",
            used=running,
            limit=allowed,
        )


def exports_used(tenant_id: str) -> tuple[int, int]:
    """The tenant's live export archives (and exports under way) and how many it may keep."""
    since = clock.now_us() - config.export_retention_days() * clock.DAY_US
    return store.live_exports(tenant_id, since), config.get_int("QUOTA_MAX_EXPORTS")


def check_exports(tenant_id: str) -> None:
    """Refuse a new export past the live-archives quota (QUOTA_MAX_EXPORTS).

    An archive lives EXPORT_RETENTION_DAYS after its export succeeded; one under way counts
    too. So what exports store is bounded: about QUOTA_MAX_EXPORTS times the byte quota. One
    read, no lock: requests at the same instant may both pass, as many as the running-tasks
    quota lets start at once.
    """
    live, allowed = exports_used(tenant_id)
    if live + 1 > allowed:
        raise QuotaExceeded(
            f"Quota exceeded: export archives ({live} of {allowed} kept; an archive is kept"
            f" {config.export_retention_days()} days).",
            quota="exports",
            used=live,
            limit=allowed,
        )
