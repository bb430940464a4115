"""Bodies no file row points at any more, and their collector.

A body is never deleted by the request that stops using it. The transaction that stops
pointing at a body (a replace, a delete, an expired file giving up its name or purged)
records its key here, with the time after which it may go (`GARBAGE_GRACE_SECONDS`, so
a reader that loaded the old row, or a download link made from it, can still read it).
The collector deletes an object only once it is due and no `files` row references its
key; it runs after each write (a few keys, best effort) and in the daily purge (all).

So a body is deleted only when it is certain that no committed row references it, even
when a COMMIT's reply was lost: the record is part of the commit, or it is not.

A fresh body, stored for a write that has not committed yet, is guarded by `new_body`: it
is deleted again when the write certainly failed, and left to the purge when its outcome
stayed unknown.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from chalicelib import clock, config, logs
from chalicelib.blobs import BlobMissing, blobs
from chalicelib.db import OutcomeUnknown, database
from chalicelib.errors import BackendUnavailable
from chalicelib.files import bookkeeping


def record(keys: list[str], now: int, grace: bool = True) -> None:
    """Inside the transaction that stops pointing at `keys`: collect them after the grace
    period (or at once, for bodies nobody can read any more)."""
    due = now + config.garbage_grace_seconds() * 1_000_000 if grace else now
    bookkeeping.record_garbage(keys, due)


def collect(limit: int) -> int:
    """Delete up to `limit` due bodies that no row references; how many were looked at."""
    return _collect(bookkeeping.due_garbage(clock.now_us(), limit))


def _collect(keys: list[str]) -> int:
    store = blobs()
    for key in keys:
        if not bookkeeping.referenced(key):
            store.delete(key)
        bookkeeping.forget_garbage(key)
    return len(keys)


def collect_quietly(tenant_id: str | None = None) -> None:
    """After a write: a few due bodies, never failing the request that already succeeded.
    With a tenant: its ended uploads' staging objects first (their reservations end with
    them, chalicelib/tenants/store.py)."""
    limit = config.garbage_batch()
    if not limit:
        return
    try:
        if tenant_id is not None:
            _collect(bookkeeping.due_staging(tenant_id, clock.now_us(), limit))
        collect(limit)
    except BackendUnavailable as exc:
        logs.warning("garbage collection skipped", error=exc.detail)


def drop(keys: list[str]) -> None:
    """Delete bodies no row ever pointed at; a failure leaves an orphan the purge removes."""
    for key in keys:
        try:
            blobs().delete(key)
        except BackendUnavailable as exc:
            logs.warning("orphan body left for the purge", blob_key=key, error=exc.detail)


@contextmanager
def guarded(key: str) -> Iterator[str]:
    """The one cleanup of a failed write of the fresh body `key`: it is deleted again only
    when it is certain that no committed row references it. A write whose outcome stayed
    unknown (the database could not be asked, see `settled`) leaves it to the purge, which
    checks the database first."""
    try:
        yield key
    except OutcomeUnknown as exc:
        logs.warning("new body left for the purge: outcome unknown", blob_key=key, error=exc.detail)
        raise
    except BaseException:
        drop([key])
        raise


@contextmanager
def new_body(key: str, body: bytes) -> Iterator[str]:
    """Store `body` under the fresh `key` for the write in the block, and yield the key."""
    blobs().put(key, body)
    with guarded(key):
        yield key


class Copy(NamedTuple):
    """A body copied for a restore: its fresh key (None: the source is gone) and the words
    search indexes (its first SEARCH_INDEX_BYTES)."""

    key: str | None
    text: str = ""


@contextmanager
def copied_body(source: str, key: str, words: bool = True) -> Iterator[Copy]:
    """Like `new_body`, for a copy of the stored body `source` made inside the store;
    `words`: read the copy's first bytes for search (a file's copy takes its source's)."""
    store = blobs()
    try:
        store.copy(source, key)
        head = store.get(key, max_bytes=config.search_index_bytes()) if words else b""
    except BlobMissing:
        drop([key])
        yield Copy(None)
        return
    with guarded(key):
        yield Copy(key, head.decode("utf-8", "ignore"))


def settled(outcome: OutcomeUnknown, key: str) -> None:
    """After a COMMIT whose reply was lost: return if it committed a row pointing at the
    fresh body `key`; raise BackendUnavailable if it certainly did not (the body may go), or
    the OutcomeUnknown again if the database cannot tell (the body stays)."""
    try:
        if not database().settle(outcome):
            raise outcome
        # Recorded as garbage: it committed, and another write replaced or deleted it since.
        committed = bookkeeping.referenced(key) or bookkeeping.garbage_recorded(key)
    except OutcomeUnknown:
        raise
    except BackendUnavailable as exc:
        logs.warning("the write's outcome could not be read", error=exc.detail)
        raise outcome from exc
    if not committed:
        raise BackendUnavailable("database", outcome.detail) from outcome
