"""A database outage on either configuration, for tests that assert what a client sees then.

Real backends: the app reaches PostgreSQL through a fault proxy (tests/support/faults.py) that
`cut()` partitions. Embedded: SQLite cannot become unreachable, so every statement fails the
way the SQLite driver reports a failure it cannot run (`BackendUnavailable`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from support.faults import FaultProxy
from support.net import HOST


class DatabaseOutage:
    def __init__(self, proxy: FaultProxy | None) -> None:
        self.proxy = proxy
        self.down = False

    def cut(self) -> None:
        self.down = True
        if self.proxy is not None:
            self.proxy.cut()

    def restore(self) -> None:
        self.down = False
        if self.proxy is not None:
            self.proxy.restore()


def _failing_sqlite(outage: DatabaseOutage, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.db.sqlite import SqliteDatabase
    from chalicelib.errors import BackendUnavailable

    real_run = SqliteDatabase._run

    def run(self: SqliteDatabase, sql: str, params: dict[str, Any], count: bool = True) -> Any:
        if outage.down:
            raise BackendUnavailable("database", "unable to open database file (test outage)")
        return real_run(self, sql, params, count)

    monkeypatch.setattr(SqliteDatabase, "_run", run)


def outage_of(backend: str, request: pytest.FixtureRequest) -> DatabaseOutage:
    """The app's database, ready to be cut off (`cut()`) and restored (`restore()`): the
    `database_outage` fixture (tests/conftest.py)."""
    from conftest import reset_drivers

    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    if backend != "real":
        outage = DatabaseOutage(None)
        _failing_sqlite(outage, monkeypatch)
        return outage
    postgres = request.getfixturevalue("postgres")
    start: Callable[[tuple[str, int]], FaultProxy] = request.getfixturevalue("fault_proxy")
    proxy = start((HOST, postgres.port))
    url = request.getfixturevalue("real_settings")["DATABASE_URL"]
    direct = f"{HOST}:{postgres.port}/"
    monkeypatch.setenv("DATABASE_URL", url.replace(direct, f"{HOST}:{proxy.port}/"))
    reset_drivers()
    return DatabaseOutage(proxy)
