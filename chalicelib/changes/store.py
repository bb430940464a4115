"""The change feed's table, `changes`, and the tenant's `change_seq`, in SQL written once for
both drivers where the dialects agree. Each function runs inside the caller's transaction.

A change is numbered under the tenant row's lock (`UPDATE tenants ... change_seq + 1`), which
the transaction holds until it commits: a tenant's writers commit one after the other, so
numbers follow commit order, and a rolled-back write takes its number back (no gap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from chalicelib.db import Database, Row

_COLUMNS = "tenant_id, seq, type, file_id, name, version, sha256, size, at_us"
# PostgreSQL: the number and the row in one statement.
SQL_RECORD_PG = (
    "WITH n AS (UPDATE tenants SET change_seq = change_seq + 1 WHERE id = :t"
    " RETURNING change_seq)"
    f" INSERT INTO changes ({_COLUMNS}) SELECT :t, change_seq, CAST(:type AS VARCHAR(16)),"
    " CAST(:file_id AS VARCHAR(40)), CAST(:name AS VARCHAR(255)), CAST(:version AS INTEGER),"
    " CAST(:sha256 AS CHAR(64)), CAST(:size AS BIGINT), CAST(:at AS BIGINT) FROM n"
)
# SQLite runs no UPDATE inside a WITH: the number, then the row.
SQL_NEXT_SEQ = "UPDATE tenants SET change_seq = change_seq + 1 WHERE id = :t RETURNING change_seq"
SQL_INSERT = (
    f"INSERT INTO changes ({_COLUMNS})"
    " VALUES (:t, :seq, :type, :file_id, :name, :version, :sha256, :size, :at)"
)
# The head and the page after `:after` read in one statement (one snapshot): an empty page
# below the head means the changes after `:after` were purged.
SQL_PAGE = (
    "SELECT h.change_seq AS head, c.seq, c.type, c.file_id, c.name, c.version, c.sha256,"
    " c.size, c.at_us FROM tenants h LEFT JOIN (SELECT seq, type, file_id, name, version,"
    " sha256, size, at_us FROM changes WHERE tenant_id = :t AND seq > :after"
    " ORDER BY seq LIMIT :limit) c ON 1 = 1 WHERE h.id = :t ORDER BY c.seq"
)
SQL_HEAD = "SELECT change_seq FROM tenants WHERE id = :t"
SQL_EXPIRE = (
    "DELETE FROM changes WHERE (tenant_id, seq) IN (SELECT tenant_id, seq FROM changes"
    " WHERE at_us <= :cutoff ORDER BY at_us LIMIT :limit)"
)


class Change(NamedTuple):
    """One row of `changes`: what happened to which file, as of which version."""

    seq: int
    type: str
    file_id: str
    name: str
    version: int
    sha256: str | None
    size: int | None
    at_us: int


def _db() -> Database:
    from chalicelib.db import database

    return database()


def record(tenant_id: str, change: Change) -> None:
    """Number `change` (its `seq` is ignored) and keep it, in the caller's transaction."""
    db = _db()
    fields = change._asdict()
    del fields["seq"], fields["at_us"]
    if db.dialect == "postgresql":
        db.execute(SQL_RECORD_PG, t=tenant_id, at=change.at_us, **fields)
        return
    for row in db.query(SQL_NEXT_SEQ, t=tenant_id):  # none: no such tenant, as on PostgreSQL
        db.execute(SQL_INSERT, t=tenant_id, seq=row["change_seq"], at=change.at_us, **fields)


def _change(row: Row) -> Change:
    return Change(*(row[name] for name in Change._fields))


def page(tenant_id: str, after: int, limit: int) -> tuple[int, list[Change]]:
    """The tenant's head (its last change's number) and up to `limit` changes after `after`."""
    rows = _db().query(SQL_PAGE, t=tenant_id, after=after, limit=limit)
    if not rows:
        return 0, []  # no tenant row: nothing ever changed
    return int(rows[0]["head"]), [_change(row) for row in rows if row["seq"] is not None]


def head(tenant_id: str) -> int:
    rows = _db().query(SQL_HEAD, t=tenant_id)
    return int(rows[0]["change_seq"]) if rows else 0


def expire(cutoff: int, limit: int) -> int:
    """Delete up to `limit` changes made at or before `cutoff`, oldest first; how many."""
    return _db().execute(SQL_EXPIRE, cutoff=cutoff, limit=limit)
