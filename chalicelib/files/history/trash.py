"""The trash: deleted files, kept with every version for RETENTION_DAYS after the deletion.

DELETE /files/{id} moves a file here (chalicelib/files/writes.py): its row leaves `files`, so
it is 404 on every /files route at once and its name is free. A restore brings it back, all
its versions with it, as a new version whose body is a fresh copy (so its retention starts
again, docs/history.md); a permanent delete forgets every version now.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import blobkeys, clock, config, ids, racepoints
from chalicelib.db import IntegrityError, Row
from chalicelib.errors import BadRequest, Conflict, NotFound
from chalicelib.files import filecache, orphans, rules
from chalicelib.files import store as files_store
from chalicelib.files.history import store, track
from chalicelib.files.rules import FileMeta
from chalicelib.tenants import limits
from chalicelib.tenants.apikeys import Tenant


def not_in_trash(file_id: str) -> NotFound:
    return NotFound(f"No file {file_id} in the trash (never deleted, restored, or expired).")


def public(row: Row) -> dict[str, Any]:
    return {
        "id": row["file_id"],
        "name": row["name"],
        "size": row["size"],
        "version": row["version"],
        "created_at": clock.iso(row["created_us"]),
        "deleted_at": clock.iso(row["deleted_us"]),
        "expires_at": clock.iso(row["expires_us"]),
    }


def _after(cursor: str | None) -> tuple[int, str] | None:
    if cursor is None:
        return None
    try:
        if len(cursor) <= rules.MAX_CURSOR:
            deleted, file_id = json.loads(ids.unb64url(cursor))
            if type(deleted) is int and 0 <= deleted < 2**63 and ids.is_id(file_id):
                return deleted, file_id
    except (ValueError, TypeError):
        pass
    raise BadRequest("The cursor is not valid; use next_cursor from a previous page.")


def page(tenant: Tenant, limit: int, cursor: str | None) -> tuple[list[Row], str | None]:
    """Trashed files, the latest deletion first, and the next page's cursor."""
    rows = store.trash_page(tenant.id, clock.now_us(), limit + 1, _after(cursor))
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = ids.b64url(json.dumps([last["deleted_us"], last["file_id"]]).encode())
    return rows[:limit], next_cursor


def _taken(name: str, file_id: str) -> Conflict:
    return Conflict(
        f"A file named {name!r} was created since this one was deleted; restore it under"
        f" another name: POST /trash/{file_id}/restore?name=<new name>."
    )


def restore(tenant: Tenant, file_id: str, name: str | None = None) -> FileMeta:
    """Back from the trash with all its versions, as a new version (a copy of its last body)."""
    now = clock.now_us()
    row = store.trashed(tenant.id, file_id, now)
    last = None if row is None else store.version_of(file_id, int(row["version"]))
    if row is None or last is None:
        raise not_in_trash(file_id)
    name = row["name"] if name is None else rules.validate_name(name)
    if files_store.repository().name_taken(tenant.id, name, now):
        raise _taken(name, file_id)
    racepoints.point("history.trash.restore")
    with orphans.copied_body(last.blob_key, blobkeys.file_body(tenant.id, file_id)) as copy:
        if copy.key is None:
            raise not_in_trash(file_id)
        now = clock.now_us()
        meta = FileMeta(
            file_id, tenant.id, name, last.size, last.sha256, int(row["version"]) + 1,
            copy.key, int(row["created_us"]), now,
            now + config.retention_days() * clock.DAY_US,
        )  # fmt: skip
        _refile(tenant, meta, copy.text)
    filecache.written(meta)
    return meta


def _refile(tenant: Tenant, meta: FileMeta, text: str) -> None:
    repo = files_store.repository()
    try:
        with repo.transaction():
            orphans.record(repo.free_name(tenant.id, meta.name, meta.updated_us), meta.updated_us)
            limits.check_storage(tenant.id, tenant.overrides, files=1, size=meta.size)
            if not store.take(tenant.id, meta.id, meta.updated_us):
                raise not_in_trash(meta.id)
            repo.add(meta, text)
            track.restored(meta)
    except IntegrityError as exc:
        raise _taken(meta.name, meta.id) from exc


def delete_forever(tenant: Tenant, file_id: str) -> None:
    """The trashed file and every version, for good, now (bodies after the grace period)."""
    repo = files_store.repository()
    now = clock.now_us()
    with repo.transaction():
        gone = store.take(tenant.id, file_id, now)
        if gone is None:
            raise not_in_trash(file_id)
        track.forgotten(gone, now)
    orphans.collect_quietly()
