"""The tenant's stored files and bytes as counters (issue 27): what /usage and the quota
read, exact under concurrent writers, reconciled by the daily purge."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from chalice.test import Client

from app import app
from support.api import Api

DAY = 86_400_000_000


def _tenant_of(api: Api) -> str:
    from chalicelib.tenants import apikeys

    tenant = apikeys.lookup(apikeys.hash_key(str(api.key)))
    assert tenant is not None
    return tenant.id


def _usage(api: Api) -> tuple[int, int]:
    usage = api.get("/usage").json
    return usage["files"]["used"], usage["bytes"]["used"]


def _purge() -> dict[str, Any]:
    from chalicelib import tasks
    from chalicelib.queue import queue

    with Client(app) as client:
        event = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
        payload = client.lambda_.invoke("daily_purge", event).payload
    inline: Any = queue()
    assert inline.drain(30)
    purge = tasks.get(payload["purge_task"])
    assert purge is not None and purge.state == "succeeded", purge
    assert purge.result is not None
    result: dict[str, Any] = purge.result
    return result


def _split(api: Api) -> tuple[int, int, int]:
    used = api.get("/usage").json["bytes"]
    return used["current"], used["history"], used["trash"]


def test_usage_follows_every_write(api: Api, backend: str) -> None:
    """Counters, not counts: files, and the bytes every kept version owns (current, history,
    trash: docs/history.md), after each kind of write."""
    a = api.created("a.txt", "x" * 10)
    b = api.created("b.txt", "y" * 20)
    api.created("c.txt", "z" * 5)
    assert _usage(api) == (3, 35)
    assert api.put(a["id"], "x" * 100).status == 200  # the old body stays, as history
    assert api.rename(b["id"], "b2.txt").status == 200  # shares its body: no bytes
    assert _usage(api) == (3, 135)
    assert _split(api) == (125, 10, 0)
    assert api.delete(b["id"]).status == 204  # to the trash, bytes and all
    assert api.delete(b["id"]).status == 404
    assert _usage(api) == (2, 135)
    assert _split(api) == (105, 10, 20)
    assert api.call("DELETE", f"/trash/{b['id']}").status == 204  # gone for good
    assert _usage(api) == (2, 115)
    assert _split(api) == (105, 10, 0)


def test_the_purge_fixes_drifted_counters_and_says_so(
    api: Api, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.db import database

    api.created("a.txt", "x" * 10)
    api.created("b.txt", "y" * 20)
    tenant = _tenant_of(api)
    database().execute(
        "UPDATE tenants SET files_count = 7, versions_bytes = 3, trash_bytes = 9 WHERE id = :t",
        t=tenant,
    )
    assert _usage(api) == (7, 3)  # what the counters say, until they are reconciled
    capsys.readouterr()
    result = _purge()
    assert result["removed"]["counters"] >= 1
    assert _usage(api) == (2, 30)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "{" in line]
    drifted = "usage counters had drifted; fixed"
    (fixed,) = [line for line in lines if line.get("message") == drifted]
    assert (fixed["level"], fixed["tenant"]) == ("warning", tenant)
    found = (fixed["files"], fixed["actual_files"], fixed["bytes"], fixed["actual_bytes"])
    assert found == (7, 2, 3, 30)
    assert (fixed["trash_bytes"], fixed["actual_trash_bytes"]) == (9, 0)
    assert _split(api) == (30, 0, 0)


def test_an_expired_file_counts_until_the_purge_deletes_it(
    api: Api, backend: str, clock: Any
) -> None:
    api.created("old.txt", "o" * 40)
    clock.advance(31 * 86_400)
    fresh = api.created("fresh.txt", "f" * 2)
    assert _usage(api) == (2, 42)  # the expired body is still stored
    _purge()
    assert _usage(api) == (1, 2)
    assert [m["id"] for m in api.get("/files").json["items"]] == [fresh["id"]]


# --- concurrent writers of one tenant, each on its own connection ----------------------------


def _meta(tenant: str, size: int) -> Any:
    from chalicelib.files.rules import FileMeta

    file_id = uuid.uuid4().hex
    now = 1_800_000_000_000_000
    return FileMeta(
        file_id, tenant, f"n-{file_id}", size, "a" * 64, 1, f"k/{file_id}", now, now, now + DAY
    )


def _writer(url: str, tenant: str, seed: int, errors: list[BaseException]) -> None:
    """Creates, body switches and deletes, as the use cases run them (the create and the
    switch under the tenant's row lock, the delete without it)."""
    from chalicelib.db import postgres_settings
    from chalicelib.db.postgres import PostgresDatabase
    from chalicelib.files.store import FileRepository
    from chalicelib.tenants.store import SQL_LOCK_STORED

    db = PostgresDatabase(postgres_settings(url))
    repo = FileRepository(db)
    try:
        for i in range(30):
            meta = _meta(tenant, seed * 100 + i)
            with db.transaction():
                db.query(SQL_LOCK_STORED, t=tenant)
                repo.add(meta, "words")
            if i % 3 == 0:
                bigger = meta._replace(version=2, size=meta.size + 7)
                with db.transaction():
                    db.query(SQL_LOCK_STORED, t=tenant)
                    repo.switch_body(meta, bigger, "more words")
            if i % 2 == 0:
                with db.transaction():
                    repo.remove(tenant, meta.id)
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)
    finally:
        db.close()


def _reconciler(url: str, tenant: str, stop: threading.Event) -> None:
    from chalicelib.db import postgres_settings
    from chalicelib.db.postgres import PostgresDatabase
    from chalicelib.tenants.store import reconcile

    db = PostgresDatabase(postgres_settings(url))
    try:
        while not stop.is_set():
            assert reconcile(tenant, db) is None  # never a drift to fix: writers keep it
    finally:
        db.close()


def test_counters_stay_exact_under_concurrent_writers_on_postgresql(postgres: Any) -> None:
    from chalicelib.db import postgres_settings
    from chalicelib.db.migrations import migrate
    from chalicelib.db.postgres import PostgresDatabase

    url = postgres.create_database(f"counters_{uuid.uuid4().hex[:12]}")
    db = PostgresDatabase(postgres_settings(url))
    migrate(db)
    tenant = "t-busy"
    db.execute("INSERT INTO tenants (id, created_us) VALUES (:t, 0)", t=tenant)
    errors: list[BaseException] = []
    stop = threading.Event()
    checker = threading.Thread(target=_reconciler, args=(url, tenant, stop))
    writers = [
        threading.Thread(target=_writer, args=(url, tenant, seed, errors)) for seed in range(8)
    ]
    checker.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(120)
    stop.set()
    checker.join(30)
    assert errors == []
    row = db.query("SELECT files_count, files_bytes FROM tenants WHERE id = :t", t=tenant)[0]
    actual = db.query(
        "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b FROM files WHERE tenant_id = :t",
        t=tenant,
    )[0]
    assert (row["files_count"], row["files_bytes"]) == (actual["n"], actual["b"])
    assert actual["n"] == 8 * 15
    db.close()
