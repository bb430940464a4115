"""Replacing a body of any size: `POST /files/{id}/uploads` gives a link like a new file's
upload; completing it makes the uploaded body the file's next version (docs/api.md).

`If-Match` is checked when the link is made and again when the body is filed, against the
file as it is then; without one, the file only has to still exist. The upload row records the
condition (chalicelib/files/bookkeeping.py), and the transaction that switches the body marks
the upload completed: two completions of one upload make one version.
"""

from __future__ import annotations

from chalicelib import blobkeys, clock, racepoints
from chalicelib.db import OutcomeUnknown, Row
from chalicelib.errors import BadRequest, Conflict, NotFound, NotPlaintext, TooLarge
from chalicelib.files import bookkeeping, orphans, reading, store, writes
from chalicelib.files.history import track
from chalicelib.files.rules import FileMeta, require_if_match
from chalicelib.files.uploads.links import Upload, check_alive, limit, parse_size, reserve
from chalicelib.files.uploads.streamed import filed
from chalicelib.files.writes import Described
from chalicelib.tenants import limits
from chalicelib.tenants.apikeys import Tenant


class _Completed(Exception):
    """Another completion of this upload committed first."""


class _Moved(Exception):
    """The file has a newer version than the one read."""


def start(tenant: Tenant, file_id: str, raw_size: str | None, if_match: str | None) -> Upload:
    size = parse_size(raw_size)
    condition = "*" if if_match is None else if_match.strip()
    if len(condition) > bookkeeping.MAX_CONDITION:
        most = bookkeeping.MAX_CONDITION
        raise BadRequest(f"If-Match on an upload is at most {most} characters.")
    meta = reading.get_meta(tenant, file_id)
    require_if_match(meta, if_match)
    return reserve(tenant, file_id, meta.name, bookkeeping.replacing(condition), size)


def complete(tenant: Tenant, row: Row, condition: str) -> FileMeta:
    """The file with the uploaded body as its current version (or, for a retried completion,
    the file as it is now)."""
    staging = row["blob_key"]
    if row["completed_us"] is not None:
        return reading.get_meta(tenant, row["file_id"])
    check_alive(row)
    try:
        meta = _current(tenant, row["file_id"], condition)
        key = blobkeys.file_body(tenant.id, meta.id)
        with filed(staging, key, limit(row)) as body:
            new = _switch(tenant, meta, body, key, row, condition)
    except _Completed:
        return reading.get_meta(tenant, row["file_id"])
    except (NotFound, NotPlaintext, TooLarge):
        orphans.drop([staging])  # the file is gone, or the body is refused: nothing to keep
        raise
    writes.written(new, collect=True)
    orphans.drop([staging])
    return new


def _current(tenant: Tenant, file_id: str, condition: str) -> FileMeta:
    meta = reading.get_meta(tenant, file_id)
    require_if_match(meta, condition)
    return meta


def _switch(
    tenant: Tenant, meta: FileMeta, body: Described, key: str, row: Row, condition: str
) -> FileMeta:
    """Make the body the next version of the file as it is now, If-Match checked against
    every newer version met (as writes.switch_body does)."""
    for _attempt in range(3):
        racepoints.point("uploads.replace.switching")
        new = writes.with_body(meta, body, key, clock.now_us())
        try:
            _update(tenant, meta, new, body.text, row)
            return new
        except _Moved:
            meta = _current(tenant, meta.id, condition)
    raise Conflict("The file is being changed by others; retry.")


def _update(tenant: Tenant, meta: FileMeta, new: FileMeta, text: str, row: Row) -> None:
    """One attempt, in one transaction: the upload marked completed, the row switched to the
    new body, the old version kept. The upload's reservation already counts for its bytes."""
    repo = store.repository()
    try:
        with repo.transaction():
            if not bookkeeping.upload_completed(row["id"], new.updated_us):
                raise _Completed
            reservation = row["blob_key"]
            limits.check_storage(tenant.id, tenant.overrides, 0, new.size, reservation)
            if not repo.switch_body(meta, new, text):
                raise _Moved
            track.superseded(meta, new)
    except OutcomeUnknown as exc:
        orphans.settled(exc, new.blob_key)
