"""A file's kept versions: list them, read one (one database read, then the bucket), restore one.

A version never changes, so its body may be cached by clients as immutable. Version reads do
not use the file cache at all: a cached current body can never be served for an old version,
nor an old version's body for the current one.
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple

from chalicelib import blobkeys, clock, config, ids, racepoints
from chalicelib.errors import BadRequest, NotFound
from chalicelib.files.history import store
from chalicelib.files.history.store import Version
from chalicelib.files.rules import FileMeta, etag_matches, require_if_match
from chalicelib.tenants.apikeys import Tenant

MAX_VERSION = 2**31 - 1
_NUMBER = re.compile(r"[0-9]{1,10}")


def parse_number(raw: str | None, what: str = "version") -> int:
    """A version number: 1 to 2^31-1, ASCII digits."""
    if raw is None or _NUMBER.fullmatch(raw) is None or not 1 <= int(raw) <= MAX_VERSION:
        raise BadRequest(f"{what} must be a version number (a whole number from 1).")
    return int(raw)


def no_version(file_id: str, number: int | str) -> NotFound:
    return NotFound(f"No version {number} of file {file_id} (it never existed or has expired).")


def get(tenant: Tenant, file_id: str, raw_number: str) -> Version:
    """Version `raw_number` of the tenant's live file: 404 when it is not kept (or not a number)."""
    if _NUMBER.fullmatch(raw_number) is None or not 1 <= int(raw_number) <= MAX_VERSION:
        raise no_version(file_id, raw_number[:20])
    found = store.version(tenant.id, file_id, int(raw_number), clock.now_us())
    if found is None:
        raise no_version(file_id, raw_number)
    return found


def _cursor(version: Version) -> str:
    return ids.b64url(json.dumps([version.version]).encode())


def _after(cursor: str | None) -> int:
    if cursor is None:
        return MAX_VERSION  # no version reaches it
    try:
        if len(cursor) <= 40:
            (number,) = json.loads(ids.unb64url(cursor))
            if type(number) is int and 1 <= number <= MAX_VERSION:
                return number
    except (ValueError, TypeError):
        pass
    raise BadRequest("The cursor is not valid; use next_cursor from a previous page.")


def page(
    tenant: Tenant, file_id: str, limit: int, cursor: str | None
) -> tuple[list[Version], str | None]:
    """Kept versions, newest first, and the next page's cursor (None: the last page)."""
    before = _after(cursor)
    items = store.page(tenant.id, file_id, before, limit + 1, clock.now_us())
    if items is None:
        raise NotFound(f"No file {file_id}.")
    next_cursor = _cursor(items[limit - 1]) if len(items) > limit else None
    return items[:limit], next_cursor


class VersionBody(NamedTuple):
    """A version's body, a link to it (too large for a Lambda response), or neither (304)."""

    version: Version
    body: bytes | None = None
    link: str | None = None


def body(tenant: Tenant, file_id: str, raw_number: str, if_none_match: str | None) -> VersionBody:
    from chalicelib.blobs import BlobMissing, blobs

    version = get(tenant, file_id, raw_number)
    if etag_matches(version, if_none_match):
        return VersionBody(version)
    if version.size > config.max_inline_bytes():
        return VersionBody(
            version, link=blobs().read_url(version.blob_key, config.read_url_seconds())
        )
    try:
        return VersionBody(version, blobs().get(version.blob_key))
    except BlobMissing:  # purged between the read and now: expired
        raise no_version(file_id, raw_number) from None


def restore(tenant: Tenant, file_id: str, raw_number: str, if_match: str | None) -> FileMeta:
    """Version n's body as the file's next version (a copy made inside the store)."""
    from chalicelib.files import orphans, reading, writes

    current = reading.get_meta(tenant, file_id)
    require_if_match(current, if_match)
    old = get(tenant, file_id, raw_number)
    racepoints.point("history.restore.copy")
    with orphans.copied_body(old.blob_key, blobkeys.file_body(tenant.id, file_id)) as copy:
        if copy.key is None:
            raise no_version(file_id, raw_number)
        key = copy.key

        body = writes.Described(old.size, old.sha256, copy.text)

        def make(meta: FileMeta, now: int) -> FileMeta:
            return writes.with_body(meta, body, key, now)

        new = writes.switch_body(tenant, current, make, copy.text, if_match)
    writes.written(new, collect=True)
    return new
