"""The embedded driver: one SQLite file, WAL, shared by the API, the CLI and the worker."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chalicelib.db.base import IntegrityError, OutcomeUnknown, Row, Transactions
from chalicelib.errors import BackendUnavailable


class SqliteDatabase(Transactions):
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        super().__init__()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.statements = 0
        self._conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=10
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")

    def _run(self, sql: str, params: dict[str, Any], count: bool = True) -> sqlite3.Cursor:
        self.statements += count
        try:
            return self._conn.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        except sqlite3.OperationalError as exc:
            raise BackendUnavailable("database", str(exc)) from exc

    def query(self, sql: str, **params: Any) -> list[Row]:
        with self._lock:
            return [dict(row) for row in self._run(sql, params).fetchall()]

    def execute(self, sql: str, **params: Any) -> int:
        with self._lock:
            return self._run(sql, params).rowcount

    def _begin(self) -> None:
        self._run("BEGIN IMMEDIATE", {}, count=False)

    def _commit(self) -> None:
        self._run("COMMIT", {}, count=False)

    def _rollback(self) -> None:
        self._conn.execute("ROLLBACK")

    @contextmanager
    def unbounded(self) -> Iterator[None]:
        """No statement of SQLite's has a time limit."""
        yield

    def settle(self, outcome: OutcomeUnknown) -> bool:
        """In-process: a COMMIT that returned (even with an error) is over."""
        return True

    def close(self) -> None:
        with self._lock:
            self._conn.close()
