"""Large bodies: a presigned upload link, then a completion call that validates and files it
(a new file here; a new version of one in replace.py).

The link writes a staging object only. Completion copies it inside the store to a fresh key
the file's row points at, and validates that copy a chunk at a time (streamed.py), so nothing
sent to the link later can change the file. The link is signed for the declared size, and the
bytes of pending uploads count against the tenant's byte quota (chalicelib/tenants/limits.py).
"""

from __future__ import annotations

from chalicelib import blobkeys, clock, ids, racepoints
from chalicelib.db import Row
from chalicelib.errors import Conflict, DomainError, NotFound, NotPlaintext, TooLarge
from chalicelib.files import bookkeeping, orphans, reading, rules, store, writes
from chalicelib.files.rules import FileMeta
from chalicelib.files.uploads import streamed
from chalicelib.files.uploads.links import Upload, check_alive, limit, parse_size, relinked, reserve
from chalicelib.tenants.apikeys import Tenant

__all__ = ["Upload", "complete", "parse_size", "relinked", "start"]


def start(tenant: Tenant, name: str, raw_size: str | None) -> Upload:
    """Reserve the declared bytes against the quota; the name is checked now and on completion."""
    rules.validate_name(name)
    size = parse_size(raw_size)
    if store.repository().name_taken(tenant.id, name, clock.now_us()):
        raise Conflict(f"A file named {name!r} already exists.")
    return reserve(tenant, ids.new_id(), name, name, size)


def _filed(tenant: Tenant, row: Row) -> FileMeta | None:
    """The file this upload already made, if any."""
    try:
        return reading.get_meta(tenant, row["file_id"])
    except NotFound:
        return None


def complete(tenant: Tenant, upload_id: str) -> tuple[FileMeta, bool]:
    """The file made from the uploaded body, and whether this call created it.

    Idempotent under concurrency: a second completion (a client's retry) answers with the
    file the first one made, and each completion only ever deletes the copy it made itself.
    """
    row = bookkeeping.upload(tenant.id, upload_id)
    if row is None:
        raise NotFound(f"No upload {upload_id}.")
    condition = bookkeeping.replace_condition(row)
    if condition is not None:
        from chalicelib.files.uploads import replace  # no new file's upload loads it

        return replace.complete(tenant, row, condition), False
    done = _filed(tenant, row)
    if done is not None:
        return done, False
    check_alive(row)
    try:
        return _file(tenant, row), True
    except DomainError:
        done = _filed(tenant, row)  # another completion got there first
        if done is None:
            raise
        return done, False


def _file(tenant: Tenant, row: Row) -> FileMeta:
    file_id, key = row["file_id"], blobkeys.file_body(tenant.id, row["file_id"])
    try:
        with streamed.filed(row["blob_key"], key, limit(row)) as body:
            racepoints.point("uploads.complete.filing")
            meta = writes.add_row(tenant, file_id, row["name"], body, key, row["blob_key"])
    except (TooLarge, NotPlaintext):
        if _filed(tenant, row) is None:
            orphans.drop([row["blob_key"]])  # the upload stays reserved while its link lives
        raise
    writes.written(meta)
    # The upload row stays until the purge removes it, so a retried completion finds the file.
    bookkeeping.upload_completed(row["id"], clock.now_us())
    orphans.drop([row["blob_key"]])
    return meta
