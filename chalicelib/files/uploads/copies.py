"""Copying a file: `POST /files/{id}/copy?name=N` makes a new file with the same body, copied
inside the store (S3 CopyObject, a hard link in a folder) and never through the function, its
searched words copied inside the database (docs/api.md)."""

from __future__ import annotations

from chalicelib import blobkeys, clock, ids, logs
from chalicelib.blobs import BlobMissing, blobs
from chalicelib.db import OutcomeUnknown
from chalicelib.errors import Conflict
from chalicelib.files import orphans, reading, rules, store, writes
from chalicelib.files.rules import FileMeta
from chalicelib.files.writes import Described
from chalicelib.tenants.apikeys import Tenant


def copy(tenant: Tenant, file_id: str, name: str | None, if_match: str | None) -> FileMeta:
    """The new file; its name checked first, then the source (If-Match on the source)."""
    rules.validate_name(name)
    assert name is not None  # validate_name refuses None
    source = reading.get_meta(tenant, file_id)
    if not writes._matches(source, if_match):
        raise writes._stale()
    if store.repository().name_taken(tenant.id, name, clock.now_us()):
        raise Conflict(f"A file named {name!r} already exists.")
    new_id = ids.new_id()
    key = blobkeys.file_body(tenant.id, new_id)
    try:
        blobs().copy(source.blob_key, key)
    except BlobMissing as exc:  # deleted and collected since it was read
        raise reading.missing(file_id) from exc
    body = Described(source.size, source.sha256, "")
    try:
        meta = writes.add_row(tenant, new_id, name, body, key, words_of=source.id)
    except OutcomeUnknown as exc:
        logs.warning("new body left for the purge: outcome unknown", blob_key=key, error=exc.detail)
        raise
    except BaseException:
        orphans.drop([key])
        raise
    writes.written(meta)
    return meta
