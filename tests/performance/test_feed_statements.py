"""Pinned on purpose, to guard cost: what the change feed adds to a write (docs/changes.md,
docs/bench.md row 6): its change record only, inside the write's own transaction (one
statement on PostgreSQL, two on SQLite, plus the tenant's lock a rename takes first), and
nothing at all to a read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from support.api import Api, Reply


class Statements:
    """Every statement the database is sent, by its text (wrapping query and execute)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from chalicelib.db import database

        self.db = database()
        self.sent: list[str] = []
        for name in ("query", "execute"):
            method = getattr(self.db, name)
            monkeypatch.setattr(self.db, name, self._recording(method))

    def _recording(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(sql: str, **params: Any) -> Any:
            self.sent.append(sql)
            return method(sql, **params)

        return recorded

    def of(self, call: Callable[[], Reply]) -> tuple[Reply, list[str], int]:
        """The reply, the statements it sent and the transactions it committed."""
        self.sent.clear()
        transactions = self.db.transactions
        reply = call()
        return reply, list(self.sent), self.db.transactions - transactions


def feed_statements(sent: list[str]) -> list[str]:
    return [sql for sql in sent if "change_seq" in sql or " changes " in f"{sql} "]


def test_a_write_pays_its_change_record_only_inside_its_transaction(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    per_change = 1 if backend == "real" else 2  # SQLite runs no UPDATE inside a WITH
    fid = api.created("warm.txt", "w")["id"]
    statements = Statements(monkeypatch)
    writes: dict[str, Callable[[], Reply]] = {
        "create": lambda: api.create("c.txt", "c"),
        "replace": lambda: api.put(fid, "two"),
        "rename": lambda: api.rename(fid, "renamed.txt"),
        "delete": lambda: api.delete(fid),
        "restore": lambda: api.call("POST", f"/trash/{fid}/restore"),
    }
    for name, write in writes.items():
        reply, sent, transactions = statements.of(write)
        assert reply.status in (200, 201, 204), (name, reply.body)
        assert transactions == 1, name  # no transaction of its own
        assert len(feed_statements(sent)) == per_change, (name, feed_statements(sent))
    # A rename and a delete lock the tenant's row before the file's (the order every write
    # takes them).
    for write, first_on_file in (
        (lambda: api.rename(fid, "again.txt"), "UPDATE files SET name"),
        (lambda: api.delete(fid), "DELETE FROM files"),
    ):
        _, sent, _ = statements.of(write)
        lock = [i for i, sql in enumerate(sent) if sql.startswith("UPDATE tenants SET id = id")]
        on_file = [i for i, sql in enumerate(sent) if sql.startswith(first_on_file)]
        assert len(lock) == 1 and len(on_file) == 1 and lock[0] < on_file[0], sent


def test_a_read_pays_nothing_for_the_feed_and_a_feed_page_is_one_statement(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    fid = api.created("r.txt", "r")["id"]
    api.get(f"/files/{fid}")  # the key and the file cached as in the steady state
    statements = Statements(monkeypatch)
    for path in ("/files", f"/files/{fid}/metadata", f"/files/{fid}", f"/files/{fid}/versions"):
        reply, sent, _ = statements.of(lambda: api.get(path))  # noqa: B023 - called at once
        assert reply.status == 200, path
        assert feed_statements(sent) == [], path
    for path in ("/changes", "/changes/latest"):
        reply, sent, transactions = statements.of(lambda: api.get(path))  # noqa: B023
        assert reply.status == 200
        assert (len(sent), transactions) == (1, 0), (path, sent)
