"""Files by name: find one, and write one (create, or replace what the name holds now) without
ever overwriting a change made meanwhile.

A server with `PUT /names/{name}` writes by name in one request: If-None-Match: * for --new,
If-Match for --if-match. Elsewhere (an older server, or a body above the inline limit, which
goes through an upload link) the name is resolved by listing (GET /files?prefix=, exact match)
and a replacement is a PUT /files/{id} with If-Match the ETag just read, so a concurrent write
is a 412, never lost.
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

from textfiles_client.client import ApiError, Client, ProgressFn
from textfiles_client.terminal import size
from textfiles_client.types import File

_ID = re.compile(r"[0-9a-f]{32}")
REPLACE_UPLOAD = ("POST", "/files/{file_id}/uploads")
PUT_NAMED = ("PUT", "/names/{name}")


class Written(NamedTuple):
    meta: File
    created: bool


def lookup(client: Client, name: str) -> File | None:
    """The file with exactly this name, or None."""
    cursor = None
    while True:
        page = client.list_files(limit=1000, prefix=name, cursor=cursor)
        for item in page["items"]:
            if item["name"] == name:
                return item
        cursor = page["next_cursor"]
        if not cursor:
            return None


def find(client: Client, ref: str) -> File:
    """A file by id, or else by its exact name."""
    if _ID.fullmatch(ref):
        try:
            return client.read_metadata(ref)
        except ApiError as exc:
            if exc.status != 404:
                raise
    found = lookup(client, ref)
    if found is None:
        raise ApiError(404, "NotFound", f"No file with the id or name {ref!r}.")
    return found


def quoted(etag: str) -> str:
    """An ETag as If-Match wants it: `*`, `W/"..."` and `"..."` as given, a bare hash quoted."""
    etag = etag.strip()
    return etag if etag == "*" or etag.startswith(('"', 'W/"')) else f'"{etag}"'


def write(
    client: Client,
    name: str,
    body: bytes,
    inline_limit: int,
    new: bool = False,
    if_match: str | None = None,
    progress: ProgressFn | None = None,
) -> Written:
    """Create `name`, or replace it guarded by `if_match` (default: the ETag just read).
    `new`: create only."""
    if len(body) <= inline_limit and _writes_by_name(client):
        return _put_named(client, name, body, new, if_match, progress)
    current = lookup(client, name)
    if current is None:
        if if_match:
            raise ApiError(412, "PreconditionFailed", f"No file named {name!r} to match.")
        return Written(_create(client, name, body, inline_limit, progress, new), True)
    if new:
        raise ApiError(409, "Conflict", f"A file named {name!r} already exists (--new).")
    guard = quoted(if_match) if if_match else current["etag"]
    try:
        if len(body) <= inline_limit:
            meta = client.replace_file(current["id"], body, guard, progress)
        else:
            meta = _replace_large(client, current, body, guard, inline_limit, progress)
    except ApiError as exc:
        if exc.status == 412:
            exc.message = _stale(name, guard, bool(if_match))
        raise
    return Written(meta, False)


def _writes_by_name(client: Client) -> bool:
    """Whether the server has PUT /names/{name} (a server without a document: no)."""
    try:
        return client.offers(*PUT_NAMED)
    except ApiError:
        return False


def _put_named(
    client: Client,
    name: str,
    body: bytes,
    new: bool,
    if_match: str | None,
    progress: ProgressFn | None,
) -> Written:
    """One PUT /names/{name}. A retry whose first try landed meets its own condition as a
    412: when the name now holds exactly this body, that 412 is the success it hides."""
    guard = quoted(if_match) if if_match else None
    try:
        meta, created = client.put_named(name, body, guard, "*" if new else None, progress)
    except ApiError as exc:
        if exc.status != 412:
            raise
        current = lookup(client, name)
        if exc.retried and current and current["sha256"] == hashlib.sha256(body).hexdigest():
            return Written(current, new)
        if new:
            exc.message = f"A file named {name!r} already exists (--new)."
        elif current is None:
            exc.message = f"No file named {name!r} to match."
        else:
            exc.message = _stale(name, str(guard), True)
        raise
    return Written(meta, created)


def _create(
    client: Client,
    name: str,
    body: bytes,
    inline_limit: int,
    progress: ProgressFn | None,
    new: bool,
) -> File:
    try:
        if len(body) <= inline_limit:
            return client.create_file(name, body, progress)
        return client.upload(name, body, progress)
    except ApiError as exc:
        if exc.status == 409 and not new:
            exc.message = (
                f"A file named {name!r} was created meanwhile: not overwritten. Run put again"
                " to replace it."
            )
        raise


def _replace_large(
    client: Client,
    current: File,
    body: bytes,
    guard: str,
    inline_limit: int,
    progress: ProgressFn | None,
) -> File:
    """A body above the inline limit replaces through an upload link, on a server that has
    the route (issue 24); elsewhere, an error that says so and what to do meanwhile."""
    if not client.offers(*REPLACE_UPLOAD):
        raise ApiError(
            413,
            "PayloadTooLarge",
            f"{current['name']!r} would be {size(len(body))}, above this server's inline limit"
            f" ({size(inline_limit)}), and this server cannot yet replace a body that large"
            " (it needs POST /files/{id}/uploads). Meanwhile: rm the file, then put it again.",
        )
    link = client.start_replace_upload(current["id"], len(body), guard)
    return client.finish_upload(link, body, progress)


def _stale(name: str, guard: str, given: bool) -> str:
    if given:
        return f"{name!r} does not have the ETag {guard}: not overwritten."
    return (
        f"{name!r} changed since it was read (it no longer has the ETag {guard}): not"
        " overwritten. Run put again to replace the new version."
    )
