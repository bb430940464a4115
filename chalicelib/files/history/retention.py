"""The purge's share of history (chalicelib/tasks/kinds/purge.py): expired versions and expired
trash entries, a bounded batch per step. An expired version is 404 already: the bodies nobody
shares any more are due for collection at once."""

from __future__ import annotations

from chalicelib import clock
from chalicelib.files import store as files_store
from chalicelib.files.history import store, track


def purge_versions(limit: int) -> tuple[int, bool]:
    """Expired versions (of live, trashed or expired files): how many, and whether more."""
    now = clock.now_us()
    rows = store.expired(now, limit)
    if rows:
        with files_store.repository().transaction():
            for row in rows:
                gone = store.forget(row["file_id"], row["version"], now)
                if gone and row["owns_body"]:
                    track.released(row["file_id"], [row["blob_key"]], now, grace=False)
    return len(rows), len(rows) == limit


def purge_trash(limit: int) -> tuple[int, bool]:
    """Trashed files past their expiry, with every version they still had."""
    now = clock.now_us()
    file_ids = store.trash_expired(now, limit)
    for file_id in file_ids:
        with files_store.repository().transaction():
            gone = store.trash_forget(file_id, now)
            if gone is not None:
                track.forgotten(gone, now, grace=False)
    return len(file_ids), len(file_ids) == limit
