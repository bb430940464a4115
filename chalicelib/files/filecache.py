"""The file cache: entries only move forward, and writes the cache missed are replayed.

`tf:m:<id>` holds a file's metadata (JSON, with its version), `tf:b:<id>` the sha256 of a
body followed by the body. Order between metadata entries:

- a full entry is ordered by its version (+1 on every write of the file);
- a tombstone (`-<version>`, the file was deleted at that version: it went to the trash) is
  newer than that version and older than the next, which only a restore from the trash
  writes (the bare `-` of a file deleted before the trash existed is newer than every version);
- a marker `~<version>` says "version <version> exists, but not here": readers go to the
  database and may replace it with a full entry of that version or newer.

Every write to `tf:m:` is a compare-and-swap (`Cache.set_forward`), by writers after
commit and by readers after a database read alike, so a writer that committed first but
reaches the cache last cannot put an older entry back, and a delete cannot be undone. A
body entry is served only when its sha256 is the one in the metadata served with it, so
a body entry needs no order of its own.

A write the cache did not take (down, bypassed, contended) is recorded in the database
(`cache_dirty`). Cache entries are served only within CACHE_CHECK_SECONDS of a check
that found nothing to replay; any cache error ends this process's trust. A check writes a
marker (or a tombstone) forward for each recorded write, then forgets the record, and
shares its result as `tf:clean` (the wall-clock time until which entries may be trusted):
a process fetches it with the entries it reads, so a cold process serves a cached read
without asking the database while some process checked less than CACHE_CHECK_SECONDS ago.

A check is one process's at a time (`tf:replaying`, taken with `add`) and replays at most
REPLAY_BATCH records per request: after an outage a backlog drains a bounded batch per
request, and meanwhile every reader goes to the database (nothing unchecked is served).
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from chalicelib import clock, config, ids, logs, racepoints
from chalicelib.cache import Cache, Parsed, cache
from chalicelib.errors import BackendUnavailable
from chalicelib.files.rules import FileMeta

TOMBSTONE = b"-"
CLEAN_KEY = "tf:clean"
DELETED = 2**62  # the order of a tombstone: newer than every version
CHECK_LEASE = "tf:replaying"  # held by the one process checking (`add`); see `check`
CHECK_LEASE_SECONDS = 5  # a holder that died is replaced after this
REPLAY_BATCH = 20  # recorded writes one request replays at most

Entry = FileMeta | Literal["deleted"] | None


def meta_key(file_id: str) -> str:
    return f"tf:m:{file_id}"


def body_key(file_id: str) -> str:
    return f"tf:b:{file_id}"


def read_cache_keys(file_id: str) -> list[str]:
    return [meta_key(file_id), body_key(file_id), CLEAN_KEY] if ids.is_id(file_id) else []


def metadata_cache_keys(file_id: str) -> list[str]:
    return [meta_key(file_id), CLEAN_KEY] if ids.is_id(file_id) else []


def encode(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields).encode()


def tombstone(version: int) -> bytes:
    return TOMBSTONE + b"%d" % version


def order(raw: bytes) -> tuple[int, int]:
    """(version, rank): a full entry outranks the marker of its own version, and its
    tombstone outranks both."""
    try:
        if raw == TOMBSTONE:
            return DELETED, 1
        if raw[:1] == TOMBSTONE:
            return int(raw[1:]), 2
        if raw[:1] == b"~":
            return int(raw[1:]), 0
        return int(json.loads(raw)["version"]), 1
    except (ValueError, KeyError, TypeError):
        return -1, 0  # unreadable: anything replaces it


def _forward(file_id: str, raw: bytes) -> bool:
    mine = order(raw)
    return cache().set_forward(meta_key(file_id), raw, lambda current: order(current) < mine)


# --- writers ----------------------------------------------------------------


def written(meta: FileMeta, body: bytes | None = None) -> None:
    """After commit: move the entry forward to this version, or record that it could not.

    With no body (a rename) the cached body stays: it is checked against the sha256 anyway.
    """
    racepoints.point("filecache.written")
    file_id = meta.id
    if not _forward(file_id, encode(meta.fields())):
        _mark_dirty(file_id, meta.version)
        return
    if body is None:
        return
    if len(body) <= config.cache_body_max_bytes():
        cache().set_many({body_key(file_id): meta.sha256.encode() + body})
    else:
        cache().delete_many([body_key(file_id)])


def deleted(file_id: str, version: int) -> None:
    """After commit: a tombstone, newer than any entry a slow reader or writer still holds
    (only a restore from the trash, a newer version, replaces it)."""
    if not _forward(file_id, tombstone(version)):
        _mark_dirty(file_id, DELETED + version)
        return
    cache().delete_many([body_key(file_id)])


def _mark_dirty(file_id: str, version: int) -> None:
    """Record a write the cache missed; this process checks before it serves entries again."""
    cache().trusted_until = 0.0
    cache().failed_at_us = clock.now_us()
    cache().delete_many([CLEAN_KEY])  # reachable but contended: no process trusts it longer
    from chalicelib.files import bookkeeping

    try:
        bookkeeping.mark_dirty(file_id, version, clock.now_us())
    except BackendUnavailable as exc:
        # Committed, but neither the cache nor the record took it: CACHE_TTL_SECONDS bounds it.
        logs.error("cache write not recorded", file_id=file_id, error=exc.detail)


# --- readers ----------------------------------------------------------------


def cached(file_id: str, hits: dict[str, bytes]) -> Entry:
    """The metadata the cache holds for the file, "deleted", or None (ask the database)."""
    raw = hits.get(meta_key(file_id))
    if raw is None or raw[:1] == b"~" or not usable(hits):
        return None
    if raw[:1] == TOMBSTONE:
        return "deleted"
    return _meta_of(raw)


def _parse_meta(raw: bytes) -> FileMeta:
    return FileMeta.of(json.loads(raw))


_meta_of = Parsed(_parse_meta, 512)  # full entries; a FileMeta is immutable


def cached_body(file_id: str, sha256: str, hits: dict[str, bytes]) -> bytes | None:
    raw = hits.get(body_key(file_id))
    if raw is not None and raw[:64] == sha256.encode():
        return raw[64:]
    return None


def read_through(meta: FileMeta) -> None:
    """A database read, offered to the cache: taken only if nothing as new is there."""
    _forward(meta.id, encode(meta.fields()))


def read_through_body(file_id: str, sha256: str, body: bytes, hits: dict[str, bytes]) -> None:
    """A body read from storage; it replaces a cached body of another sha256."""
    if len(body) > config.cache_body_max_bytes():
        return
    value = sha256.encode() + body
    if body_key(file_id) in hits:
        cache().set_many({body_key(file_id): value})
    else:
        cache().add(body_key(file_id), value)


# --- trust --------------------------------------------------------------------


def usable(hits: dict[str, bytes] | None = None) -> bool:
    """Whether entries fetched from the cache may be served now.

    They may within CACHE_CHECK_SECONDS of a check by this process, or of one by any process
    (`tf:clean`, fetched with the entries). Otherwise this answers False (the entries in hand
    were fetched before the check) and takes a bounded step of the check, unless another
    process is at it. A bypassed cache is not checked until it answers again.
    """
    store = cache()
    if time.monotonic() < store.trusted_until:
        return True
    left = _shared_trust((hits or {}).get(CLEAN_KEY), store.failed_at_us)
    if left > 0 and not store.bypassed():
        store.trusted_until = time.monotonic() + left
        return True
    if not store.bypassed():
        check(store)
    return False


def _shared_trust(raw: bytes | None, failed_at_us: int) -> float:
    """Seconds left of the trust a check shares (0 when none, or when it may predate what
    this process saw fail: a write it could not deliver may be newer than that check)."""
    try:
        until_us = int(raw or b"0")
    except ValueError:
        return 0.0
    check_us, now_us = int(_check_seconds() * 1e6), clock.now_us()
    if until_us - check_us <= failed_at_us or until_us - now_us > check_us:
        return 0.0  # older than a failure seen here, or from a clock ahead of this one
    return (until_us - now_us) / 1e6


def _check_seconds() -> float:
    return config.get_float("CACHE_CHECK_SECONDS")


def check(store: Cache | None = None) -> bool:
    """One step of the check, by one process at a time: replay up to REPLAY_BATCH recorded
    writes; True when none was left, so the cache is trusted now (and says so, `tf:clean`).
    False at once while another process holds the lease: its readers use the database."""
    store = store or cache()
    if not store.add(CHECK_LEASE, b"1", CHECK_LEASE_SECONDS):
        return False
    try:
        return replay(store)
    finally:
        store.delete_many([CHECK_LEASE])


def _replayed(version: int) -> bytes:
    """The entry a missed write leaves: a marker, or the tombstone of the deleted version."""
    if version < DELETED:
        return b"~%d" % version
    return tombstone(version - DELETED) if version > DELETED else TOMBSTONE


def _done(file_id: str, version: int) -> None:
    """Forget the record and those it outranks (a trash tombstone: not the restore after it)."""
    from chalicelib.files import bookkeeping

    if version > DELETED:
        bookkeeping.dirty_forget(file_id, version)
        version -= DELETED
    bookkeeping.dirty_done(file_id, version)


def replay(store: Cache | None = None) -> bool:
    """Deliver up to REPLAY_BATCH recorded writes the cache missed; True if none is left and
    the cache is trusted now."""
    store = store or cache()
    started, started_us, errors = time.monotonic(), clock.now_us(), store.errors
    from chalicelib.files import bookkeeping

    try:
        rows = bookkeeping.dirty(REPLAY_BATCH)
        for file_id, version in rows:
            if not _forward(file_id, _replayed(version)):
                return False
            _done(file_id, version)
    except BackendUnavailable as exc:
        logs.warning_throttled("cache-replay", "cache check failed", error=exc.detail)
        return False
    if rows or store.errors != errors:
        return False  # the next step finds the rest (or nothing, then trusts)
    store.trusted_until = started + _check_seconds()
    until_us = started_us + int(_check_seconds() * 1e6)
    store.set_many({CLEAN_KEY: str(until_us).encode()})
    return store.errors == errors
