"""What a tenant uses against its quotas, and where it stands in its rate-limit window."""

from __future__ import annotations

from typing import Any

from chalicelib import config
from chalicelib.tenants import limits, store
from chalicelib.tenants.apikeys import Tenant


def _meter(used: int, limit: int) -> dict[str, int]:
    return {"used": used, "limit": limit}


def report(tenant: Tenant, rate_headers: dict[str, str]) -> dict[str, Any]:
    """Read-only: four counts in the database, the limits, and this request's rate state.

    `rate_headers` are the RateLimit-* headers this request was given (empty when the cache
    is down and the limit is not enforced: then the whole window is shown as remaining).
    """
    files, stored, current, trash = store.stored(tenant.id)
    running = store.running_tasks(tenant.id)
    rate_limit = limits.limit(tenant.overrides, "rate_limit")
    remaining = int(rate_headers.get("RateLimit-Remaining", rate_limit))
    return {
        "files": _meter(files, limits.limit(tenant.overrides, "max_files")),
        "bytes": {  # pending uploads' bytes are reserved, as the quota check counts
            **_meter(
                stored + limits.pending_bytes(tenant.id),
                limits.limit(tenant.overrides, "max_bytes"),
            ),
            "current": current,
            "history": max(0, stored - current - trash),
            "trash": trash,
        },
        "running_tasks": _meter(running, limits.limit(tenant.overrides, "max_running_tasks")),
        "exports": _meter(*limits.exports_used(tenant.id)),
        "rate": {
            "used": rate_limit - remaining,
            "limit": rate_limit,
            "remaining": remaining,
            "window_seconds": limits.window_s(),
            "reset_seconds": int(rate_headers.get("RateLimit-Reset", limits.window()[1])),
        },
        "max_inline_bytes": config.max_inline_bytes(),
        "max_upload_bytes": config.max_upload_bytes(),
    }
