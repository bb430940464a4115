"""What every write records of history, inside the write's own transaction (docs/history.md).

- a create (or an upload's completion) adds version 1;
- a replace, a restore or a rename adds the next version and supersedes the one before: a
  superseded version expires RETENTION_DAYS after it was superseded, and never after the file
  itself (a rename does not extend the file's life, so neither does it extend its versions');
- a delete moves the file to the trash: its current version is superseded then and expires,
  like the trash entry, RETENTION_DAYS after the deletion;
- beyond MAX_VERSIONS_PER_FILE the oldest versions go at once.

A body is owned by the version that wrote it (a rename's version shares it). When an owner
goes, the oldest version still sharing its body owns it (so the quota keeps counting it);
a body nobody shares any more goes to the garbage ledger (chalicelib/files/orphans.py).

Each hook also records the write's change in the feed (chalicelib/changes/, docs/changes.md):
every write calls exactly one of added, superseded, restored, trashed or forgotten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import clock, config
from chalicelib.changes import feed
from chalicelib.files import orphans
from chalicelib.files.history import store
from chalicelib.files.rules import FileMeta

if TYPE_CHECKING:
    from chalicelib.db import Row


def _retention_us() -> int:
    return config.retention_days() * clock.DAY_US


def _changed(kind: str, meta: FileMeta) -> None:
    feed.record(kind, meta.tenant_id, meta.id, meta.name, meta.version, meta.sha256, meta.size)


def added(meta: FileMeta) -> None:
    store.add(meta, owns_body=True)
    _changed("created", meta)


def superseded(old: FileMeta, new: FileMeta, owns_body: bool = True) -> None:
    """`new` is the version after `old`, written at `new.updated_us`: a new body, or a new
    name (`owns_body` False: a rename shares its body)."""
    now = new.updated_us
    store.supersede(old.id, old.version, now, min(now + _retention_us(), new.expires_us))
    store.add(new, owns_body)
    _prune(new)
    _changed("updated" if owns_body else "renamed", new)


def restored(meta: FileMeta) -> None:
    """Back from the trash: a new version with a body of its own (its last one was superseded
    when it was deleted)."""
    store.add(meta, owns_body=True)
    _prune(meta)
    _changed("restored", meta)


def _prune(new: FileMeta) -> None:
    """The oldest versions beyond MAX_VERSIONS_PER_FILE go at once."""
    oldest_kept = new.version - config.max_versions_per_file() + 1
    if oldest_kept > 1:
        released(new.id, store.drop_upto(new.id, oldest_kept - 1), new.updated_us)


def trashed(meta: FileMeta, now: int) -> None:
    """The file left `files` for the trash; it and its current version expire together."""
    expires = now + _retention_us()
    store.trash_add(meta, now, expires)
    store.supersede(meta.id, meta.version, now, expires)
    _changed("deleted", meta)


def forgotten(gone: Row, now: int, grace: bool = True) -> None:
    """Every version of a file gone for good (out of the trash: `gone` is its trash row, taken):
    their bodies to the garbage."""
    file_id = str(gone["file_id"])
    orphans.record(store.drop_upto(file_id, 2**31 - 1), now, grace)
    feed.purged(str(gone["tenant_id"]), file_id, str(gone["name"]), int(gone["version"]))


def released(file_id: str, keys: list[str], now: int, grace: bool = True) -> None:
    """Bodies whose owning versions were deleted: to a sharing version, or to the garbage."""
    orphans.record([key for key in keys if not store.adopt(file_id, key)], now, grace)
