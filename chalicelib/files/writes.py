"""File use cases: create, list, search, replace, rename, delete (reading is
chalicelib/files/reading.py, which a cached read needs alone).

What a request may hold is in chalicelib/files/rules.py, the rows and their search index behind
the database port (chalicelib/files/store.py), the cache protocol in chalicelib/files/filecache.py
and the life of a body no row needs any more in chalicelib/files/orphans.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import NamedTuple

from chalicelib import blobkeys, clock, config, ids, logs, racepoints
from chalicelib.db import IntegrityError, OutcomeUnknown
from chalicelib.errors import BackendUnavailable, Conflict, PreconditionFailed
from chalicelib.files import bookkeeping, filecache, orphans, store
from chalicelib.files.history import track
from chalicelib.files.reading import get_meta, missing

# Named here for app.py and bench/: the metadata, the limit a listing parses, the cache keys.
from chalicelib.files.rules import FileMeta as FileMeta
from chalicelib.files.rules import (
    create_only,
    require_if_match,
    validate_body,
    validate_name,
)
from chalicelib.files.store import FileRepository
from chalicelib.tenants import limits
from chalicelib.tenants import store as tenants_store
from chalicelib.tenants.apikeys import Tenant

meta_key, body_key = filecache.meta_key, filecache.body_key


def _taken(name: str) -> Conflict:
    return Conflict(f"A file named {name!r} already exists.")


def exists(what: str) -> PreconditionFailed:
    return PreconditionFailed(
        f"{what} already exists (If-None-Match: * writes only where none is)."
    )


def _text(body: bytes) -> str:
    """The words of a body that search sees: its first SEARCH_INDEX_BYTES."""
    return body[: config.search_index_bytes()].decode("utf-8", "ignore")


class Described(NamedTuple):
    """What a row records of a body: its length, its hash, the words search indexes."""

    size: int
    sha256: str
    text: str


def describe(body: bytes) -> Described:
    return Described(len(body), hashlib.sha256(body).hexdigest(), _text(body))


def with_body(meta: FileMeta, body: Described, blob_key: str, now: int) -> FileMeta:
    """The next version of `meta`, holding `body` (stored under `blob_key`), retained anew."""
    return meta._replace(
        size=body.size,
        sha256=body.sha256,
        version=meta.version + 1,
        blob_key=blob_key,
        updated_us=now,
        expires_us=now + config.retention_days() * clock.DAY_US,
    )


def written(meta: FileMeta, body: bytes | None = None, collect: bool = False) -> None:
    """After a committed write: the cache; after one that made garbage, a few due bodies
    collected (a create stays one transaction)."""
    filecache.written(meta, body)
    if collect:
        orphans.collect_quietly()


# --- create -----------------------------------------------------------------


def create(tenant: Tenant, name: str, body: bytes) -> FileMeta:
    validate_name(name)
    validate_body(body, config.max_inline_bytes())
    file_id = ids.new_id()
    with orphans.new_body(blobkeys.file_body(tenant.id, file_id), body) as blob_key:
        meta = add_row(tenant, file_id, name, describe(body), blob_key)
    written(meta, body)
    return meta


def add_row(
    tenant: Tenant,
    file_id: str,
    name: str,
    body: Described,
    blob_key: str,
    upload: str | None = None,
    words_of: str | None = None,
) -> FileMeta:
    """The row of a body stored under `blob_key` (written first: a row never points at a
    missing body), inside `garbage.new_body`. `upload`: the staging key of the upload whose
    reservation the quota already counts for this body; `words_of`: the file whose indexed
    words a copy takes (its body is not read)."""
    now = clock.now_us()
    unwritten = FileMeta(file_id, tenant.id, name, 0, "", 0, "", now, now, now)  # version 0
    meta = with_body(unwritten, body, blob_key, now)
    repo = store.repository()
    try:
        with repo.transaction():
            _free_expired_name(repo, tenant, name, now)
            limits.check_storage(tenant.id, tenant.overrides, 1, meta.size, reservation=upload)
            repo.add(meta, body.text)
            if words_of is not None:
                bookkeeping.copy_words(words_of, file_id)
            track.added(meta)
    except IntegrityError as exc:
        raise _taken(name) from exc
    except OutcomeUnknown as exc:
        orphans.settled(exc, blob_key)
    return meta


def _free_expired_name(repo: FileRepository, tenant: Tenant, name: str, now: int) -> None:
    """An expired file no longer holds its name: its row goes, its body goes to garbage."""
    orphans.record(repo.free_name(tenant.id, name, now), now)


# --- replace ----------------------------------------------------------------


def replace(
    tenant: Tenant,
    file_id: str,
    body: bytes,
    if_match: str | None = None,
    if_none_match: str | None = None,
) -> FileMeta:
    validate_body(body, config.max_inline_bytes(), replacing=file_id)
    fresh_only = create_only(if_none_match)
    meta = get_meta(tenant, file_id)
    if fresh_only:
        raise exists(f"The file {file_id}")
    require_if_match(meta, if_match)
    described = describe(body)
    with orphans.new_body(blobkeys.file_body(tenant.id, file_id), body) as blob_key:

        def make(current: FileMeta, now: int) -> FileMeta:
            return with_body(current, described, blob_key, now)

        new = switch_body(tenant, meta, make, described.text, if_match)
    written(new, body, collect=True)
    return new


NextVersion = Callable[[FileMeta, int], FileMeta]  # (current, now) -> the next version


def switch_body(
    tenant: Tenant, meta: FileMeta, make: NextVersion, text: str, if_match: str | None
) -> FileMeta:
    """Make `make(meta, now)` the current version if nobody wrote in between (else retry
    against the newer one, If-Match checked again); the old one stays as history."""
    for _attempt in range(3):
        racepoints.point("files.replace.switching")
        new = make(meta, clock.now_us())
        if _update_row(tenant, meta, new, text):
            return new
        meta = get_meta(tenant, meta.id)
        require_if_match(meta, if_match)
    raise Conflict("The file is being changed by others; retry.")


def _update_row(tenant: Tenant, meta: FileMeta, new: FileMeta, text: str) -> bool:
    """One attempt: whether the row still had `meta.version` and now points at the new body.
    The old body is kept (history): the quota grows by the whole new body."""
    repo = store.repository()
    try:
        with repo.transaction():
            limits.check_storage(tenant.id, tenant.overrides, files=0, size=new.size)
            changed = repo.switch_body(meta, new, text)
            if changed:
                track.superseded(meta, new)
    except OutcomeUnknown as exc:
        orphans.settled(exc, new.blob_key)
        return True
    return changed


# --- rename, delete ---------------------------------------------------------


def until_written(
    read: Callable[[], FileMeta], if_match: str | None, write: Callable[[FileMeta], FileMeta | None]
) -> FileMeta:
    """A write under If-Match, atomic with its check: `write(meta)` changes the row only if it
    still has `meta.version` (else None); then read again and check again."""
    for _attempt in range(3):
        meta = read()
        require_if_match(meta, if_match)
        racepoints.point("files.conditions.checked")
        done = write(meta)
        if done is not None:
            return done
    raise Conflict("The file is being changed by others; retry.")


def _row(tenant: Tenant, file_id: str) -> Callable[[], FileMeta]:
    """The file's row as the database has it now (a cached copy could be behind)."""

    def read() -> FileMeta:
        meta = store.repository().get(tenant.id, file_id, clock.now_us())
        if meta is None:
            raise missing(file_id)
        return meta

    return read


def rename(tenant: Tenant, file_id: str, name: str, if_match: str | None = None) -> FileMeta:
    validate_name(name)
    meta: FileMeta | None
    if if_match is not None:
        meta = until_written(
            _row(tenant, file_id), if_match, lambda m: _rename_row(tenant, file_id, name, m)
        )
    else:
        meta = _rename_row(tenant, file_id, name, None)
    if meta is None:
        raise missing(file_id)
    written(meta)
    return meta


def _rename_row(tenant: Tenant, file_id: str, name: str, seen: FileMeta | None) -> FileMeta | None:
    """The renamed file; None: no live file (or, with `seen`, not at its version any more)."""
    repo = store.repository()
    now = clock.now_us()
    version = None if seen is None else seen.version
    try:
        with repo.transaction():
            tenants_store.lock(tenant.id)  # first, as every write: else a replace deadlocks it
            _free_expired_name(repo, tenant, name, now)
            meta = repo.rename(tenant.id, file_id, name, now, version)
            if meta is not None:
                track.superseded(meta._replace(version=meta.version - 1), meta, owns_body=False)
    except IntegrityError as exc:
        raise _taken(name) from exc
    return meta


def delete(tenant: Tenant, file_id: str, if_match: str | None = None) -> None:
    """To the trash: the row leaves `files` (its name is free), its versions stay."""
    meta = until_written(_row(tenant, file_id), if_match, lambda m: _delete_row(tenant, m))
    filecache.deleted(file_id, meta.version)


def _delete_row(tenant: Tenant, meta: FileMeta) -> FileMeta | None:
    """The file, trashed; None: it is not at `meta.version` any more."""
    repo = store.repository()
    now = clock.now_us()
    try:
        with repo.transaction():
            tenants_store.lock(tenant.id)  # first, as every write: else a replace deadlocks it
            removed = repo.remove(tenant.id, meta.id, meta.version)
            if removed:
                track.trashed(meta, now)
    except OutcomeUnknown as exc:
        _settled_delete(repo, exc, meta.id)
        return meta
    return meta if removed else None


def _settled_delete(repo: FileRepository, outcome: OutcomeUnknown, file_id: str) -> None:
    """After a lost COMMIT reply of a delete: return if the row is gone, raise otherwise."""
    try:
        gone = repo.settle(outcome) and repo.blob_key(file_id) is None
    except BackendUnavailable as exc:
        logs.warning("the delete's outcome could not be read", error=exc.detail)
        raise outcome from exc
    if not gone:
        raise outcome
