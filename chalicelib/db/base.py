"""The database port's types, shared by its users and its drivers (a leaf: it imports no driver)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, NamedTuple, Protocol

from chalicelib.errors import BackendUnavailable

Row = dict[str, Any]


class IntegrityError(Exception):
    """A constraint (unique name, foreign key) refused a write."""


class OutcomeUnknown(BackendUnavailable):
    """A COMMIT was sent but its reply never came (a lost connection, a timeout): the
    transaction may or may not have committed. Read the data again to find out, after
    `Database.settle`; never assume either way."""

    def __init__(self, detail: str = "", session: int | None = None) -> None:
        super().__init__("database", detail)
        self.session = session  # the server process that ran the COMMIT, when known


class Database(Protocol):
    dialect: str
    statements: int
    transactions: int

    def query(self, sql: str, **params: Any) -> list[Row]: ...

    def execute(self, sql: str, **params: Any) -> int: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def unbounded(self) -> AbstractContextManager[None]:
        """Statements without a time limit inside the block (an online migration's index build
        or backfill, outside a transaction); the usual limits again after it."""
        ...

    def settle(self, outcome: OutcomeUnknown) -> bool:
        """Wait (briefly) until the session that ran an ambiguous COMMIT has ended, so that a
        read now shows its outcome. False: it may still be running; nothing can be known."""
        ...

    def close(self) -> None: ...


class Transactions:
    """`with db.transaction():` for a driver with one connection: nested blocks join the
    outer one, and the lock keeps other threads out until it ends."""

    transactions: int

    def __init__(self) -> None:
        self.transactions = 0
        self._lock = threading.RLock()
        self._depth = 0

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

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
            self._begin()
            self.transactions += 1
            self._depth = 1
            try:
                yield
            except BaseException:
                self._rollback()
                raise
            else:
                self._commit()
            finally:
                self._depth = 0


class PostgresSettings(NamedTuple):
    host: str
    port: int
    user: str
    password: str
    database: str
    sslmode: str = "prefer"
    # RDS Proxy with IAM authentication: each connection logs in with a fresh token signed
    # for this region (chalicelib/aws/rds_token.py); the password is unused.
    iam_region: str = ""
