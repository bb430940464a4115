"""One reset for the tests and the admin tools: close every chosen driver and forget every piece
of module state, so the next use reads the settings again, as a new process would.

No chalicelib module imports this one (it imports them, inside the functions).
"""

from __future__ import annotations

from typing import Any


def close_drivers() -> None:
    """Close and forget the driver each port chose."""
    from chalicelib.blobs import blobs
    from chalicelib.cache import cache
    from chalicelib.db import database
    from chalicelib.queue import queue

    # The queue first: the in-process queue's worker thread stops before the database closes.
    for factory in (queue, database, cache, blobs):
        if factory.cache_info().currsize:
            try:
                instance: Any = factory()
                close = getattr(instance, "close", None)
                if close:
                    close()
            except Exception:  # noqa: BLE001 - a dead backend has nothing to close
                pass
        factory.cache_clear()


def reset() -> None:
    """Every factory and every piece of module state (the file cache's trust lives on the cache
    driver, so it goes with it)."""
    from chalicelib import logs, racepoints, secrets
    from chalicelib.aws import clients
    from chalicelib.edge import gate, http, page
    from chalicelib.health import backends
    from chalicelib.tenants import limits

    racepoints.reset()  # held threads go before the drivers they use are closed
    close_drivers()
    secrets.store.cache_clear()  # with it the secrets read from Secrets Manager
    clients.reset()
    page._asset.cache_clear()
    gate.reset_state()
    limits.reset_state()
    backends.reset_state()
    logs.reset_state()
    http.reset_state()
