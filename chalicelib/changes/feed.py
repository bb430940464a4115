"""The change feed (docs/changes.md): what every write records, and reading it back.

Every write records its change in its own transaction, through the history hooks
(chalicelib/files/history/track.py) and, for a file removed for good, the file store; the
numbering is in chalicelib/changes/store.py. A reader follows with a cursor: the number of
the last change it has seen, opaque to clients.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import clock, config, ids, racepoints
from chalicelib.changes import store
from chalicelib.changes.store import Change
from chalicelib.errors import BadRequest, Gone

TYPES = ("created", "updated", "renamed", "deleted", "restored", "purged")
MAX_SEQ = 2**63 - 1
DEFAULT_LIMIT = 100  # the page size without `limit` (at most rules.MAX_LIMIT, 1000)


# --- recording (inside the write's transaction) -----------------------------------------------


def record(
    kind: str, tenant_id: str, file_id: str, name: str, version: int,
    sha256: str | None = None, size: int | None = None,
) -> None:  # fmt: skip
    """Number the change and keep it: every acknowledged write has exactly one."""
    store.record(tenant_id, Change(0, kind, file_id, name, version, sha256, size, clock.now_us()))
    racepoints.point("changes.numbered")  # numbered, not yet committed


def purged(tenant_id: str, file_id: str, name: str, version: int) -> None:
    """A file gone for good: out of the trash, or removed by the purge after its expiry."""
    record("purged", tenant_id, file_id, name, version)


# --- reading ------------------------------------------------------------------------------------


def cursor(seq: int) -> str:
    return ids.b64url(json.dumps(["c", seq]).encode())


def parse_cursor(raw: str | None) -> int | None:
    """The number of the last change a reader has seen (None: from the oldest kept)."""
    if raw is None:
        return None
    try:
        if len(raw) <= 40:
            tag, seq = json.loads(ids.unb64url(raw))
            if tag == "c" and type(seq) is int and 0 <= seq <= MAX_SEQ:
                return int(seq)
    except (ValueError, TypeError):
        pass
    raise BadRequest("The cursor is not valid; use next_cursor from /changes or /changes/latest.")


def public(change: Change) -> dict[str, Any]:
    return {
        "seq": change.seq,
        "type": change.type,
        "file_id": change.file_id,
        "name": change.name,
        "version": change.version,
        "etag": None if change.sha256 is None else f'"{change.sha256}"',
        "size": change.size,
        "at": clock.iso(change.at_us),
    }


def _gone() -> Gone:
    days = config.retention_days()
    return Gone(
        f"Changes are kept {days} days and some after this cursor are gone: list the files"
        " again (GET /files) and follow from GET /changes/latest."
    )


def page(tenant_id: str, after: int | None, limit: int) -> tuple[list[Change], int]:
    """Up to `limit` changes after `after` in commit order, and the cursor's next number."""
    head, changes = store.page(tenant_id, after or 0, limit)
    if after is None:
        return changes, changes[-1].seq if changes else head
    if after > head:
        raise BadRequest("The cursor is not valid; use next_cursor from /changes.")
    if (changes and changes[0].seq != after + 1) or (not changes and after < head):
        raise _gone()  # the next change's number is contiguous unless the purge took it
    return changes, changes[-1].seq if changes else after


def latest(tenant_id: str) -> str:
    """The cursor at the head: follow from now on, without the past."""
    return cursor(store.head(tenant_id))


def expire(limit: int) -> tuple[int, bool]:
    """The purge's share: changes past the retention, a bounded batch; how many, whether more."""
    cutoff = clock.now_us() - config.retention_days() * clock.DAY_US
    removed = store.expire(cutoff, limit)
    return removed, removed == limit
