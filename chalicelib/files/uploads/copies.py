"""Copying a file: a new file with the same body, copied inside the store (S3 CopyObject, a
hard link in a folder), never through the function; its search words copied in the database."""

from __future__ import annotations

from chalicelib import blobkeys, clock, ids
from chalicelib.errors import Conflict
from chalicelib.files import orphans, reading, rules, store, writes
from chalicelib.files.rules import FileMeta, require_if_match
from chalicelib.files.writes import Described
from chalicelib.tenants.apikeys import Tenant


def copy(tenant: Tenant, file_id: str, name: str | None, if_match: str | None) -> FileMeta:
    name = rules.validate_name(name)
    source = reading.get_meta(tenant, file_id)
    require_if_match(source, if_match)
    if store.repository().name_taken(tenant.id, name, clock.now_us()):
        raise Conflict(f"A file named {name!r} already exists.")
    new_id = ids.new_id()
    key = blobkeys.file_body(tenant.id, new_id)
    with orphans.copied_body(source.blob_key, key, words=False) as copied:
        if copied.key is None:  # deleted and collected since it was read
            raise reading.missing(file_id)
        body = Described(source.size, source.sha256, "")
        meta = writes.add_row(tenant, new_id, name, body, key, words_of=source.id)
    writes.written(meta)
    return meta
