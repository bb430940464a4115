"""The embedded driver: one SQLite file, WAL, shared by the API, the CLI and the worker."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chalicelib.db import IntegrityError, Row
from chalicelib.errors import BackendUnavailable


class SqliteDatabase:
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.statements = 0
        self.transactions = 0
        self._lock = threading.RLock()
        self._depth = 0
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

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._run("BEGIN IMMEDIATE", {}, count=False)
            self.transactions += 1
            self._depth = 1
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._run("COMMIT", {}, count=False)
            finally:
                self._depth = 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()
