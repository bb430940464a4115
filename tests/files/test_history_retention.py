"""History's retention, purge, per-file bound, quotas and migration (docs/history.md), on
embedded and real backends."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from conftest import FakeClock, reset_drivers
from support.api import Api

DAY = 86_400
HISTORY_MIGRATION = 11


def run_purge() -> None:
    from chalicelib.tasks import TaskContext
    from chalicelib.tasks.kinds import purge

    ctx = TaskContext("purge", None, {}, 0, None)
    while (step := purge.step(ctx)).result is None:
        ctx = TaskContext("purge", None, step.checkpoint, step.done, step.total)


def exists(key: str) -> bool:
    from chalicelib.blobs import BlobMissing, blobs

    try:
        blobs().head(key)
    except BlobMissing:
        return False
    return True


def body_keys(file_id: str) -> dict[int, str]:
    from chalicelib.db import database

    rows = database().query(
        "SELECT version, blob_key FROM file_versions WHERE file_id = :id", id=file_id
    )
    return {int(r["version"]): str(r["blob_key"]) for r in rows}


def numbers(api: Api, file_id: str) -> list[int]:
    return [v["version"] for v in api.get(f"/files/{file_id}/versions").json["items"]]


def test_a_superseded_version_expires_30_days_after_it_was_superseded(
    api: Api, clock: FakeClock
) -> None:
    meta = api.created("s.txt", "one")
    fid = meta["id"]
    clock.advance(10 * DAY)
    api.put(fid, "two")
    keys = body_keys(fid)
    v1 = api.get(f"/files/{fid}/versions/1/metadata").json
    assert v1["superseded_at"] == api.get(f"/files/{fid}/metadata").json["updated_at"]
    clock.advance(29 * DAY)  # 39 days after the write of v1: kept
    assert api.get(f"/files/{fid}/versions/1").text == "one"
    api.put(fid, "three")
    clock.advance(1 * DAY + 1)  # 30 days after v1 was superseded
    assert api.get(f"/files/{fid}/versions/1").status == 404
    assert numbers(api, fid) == [3, 2]
    assert exists(keys[1])
    run_purge()
    assert not exists(keys[1])
    assert exists(keys[2])
    assert api.get(f"/files/{fid}/versions/2").text == "two"


def test_the_purge_removes_an_expired_trash_entry_with_every_version(
    api: Api, clock: FakeClock
) -> None:
    meta = api.created("t.txt", "one")
    clock.advance(5 * DAY)
    api.put(meta["id"], "two")
    keys = body_keys(meta["id"])
    api.delete(meta["id"])
    clock.advance(30 * DAY - 1)
    run_purge()
    assert all(exists(k) for k in keys.values())
    assert api.get("/trash").json["items"][0]["id"] == meta["id"]
    clock.advance(2)
    run_purge()
    assert not any(exists(k) for k in keys.values())
    assert body_keys(meta["id"]) == {}


def test_a_permanent_delete_frees_the_bytes_and_collects_the_bodies(
    api: Api, clock: FakeClock
) -> None:
    meta = api.created("p.txt", "12345")
    api.put(meta["id"], "123")
    keys = body_keys(meta["id"])
    api.delete(meta["id"])
    assert api.get("/usage").json["bytes"]["trash"] == 8
    assert api.call("DELETE", f"/trash/{meta['id']}").status == 204
    assert api.get("/usage").json["bytes"]["used"] == 0
    clock.advance(3601)
    run_purge()
    assert not any(exists(k) for k in keys.values())


def test_the_oldest_versions_beyond_the_bound_go_first(
    api: Api, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_VERSIONS_PER_FILE", "3")
    meta = api.created("m.txt", "0")
    for n in range(1, 5):
        api.put(meta["id"], str(n))
    assert numbers(api, meta["id"]) == [5, 4, 3]
    assert api.get(f"/files/{meta['id']}/versions/2").status == 404
    assert api.get("/usage").json["bytes"]["used"] == 3


def test_a_body_shared_by_a_rename_outlives_its_pruned_owner_and_still_counts(
    api: Api, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_VERSIONS_PER_FILE", "2")
    meta = api.created("a.txt", "shared")
    api.rename(meta["id"], "b.txt")
    key = body_keys(meta["id"])[1]
    api.put(meta["id"], "new")  # v1 goes; v2 (the rename) still holds its body
    assert numbers(api, meta["id"]) == [3, 2]
    clock.advance(3601)
    run_purge()
    assert exists(key)
    assert api.get(f"/files/{meta['id']}/versions/2").text == "shared"
    assert api.get("/usage").json["bytes"]["used"] == len("shared") + len("new")


def test_the_byte_quota_counts_history_and_trash_the_file_quota_live_files(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUOTA_MAX_BYTES", "10")
    monkeypatch.setenv("QUOTA_MAX_FILES", "1")
    meta = api.created("q.txt", "1234")
    assert api.put(meta["id"], "5678").status == 200
    over = api.put(meta["id"], "abcd")
    assert over.status == 403
    assert over.json["quota"] == "bytes"
    assert over.json["used"] == 8
    api.delete(meta["id"])
    usage = api.get("/usage").json
    assert usage["files"]["used"] == 0
    assert usage["bytes"] == {"used": 8, "limit": 10, "current": 0, "history": 0, "trash": 8}
    assert api.create("r.txt", "12").status == 201  # the file quota counts live files only
    assert api.get("/usage").json["bytes"] == {
        "used": 10,
        "limit": 10,
        "current": 2,
        "history": 0,
        "trash": 8,
    }
    restore = api.call("POST", f"/trash/{meta['id']}/restore")
    assert restore.status == 403
    assert api.get("/trash").json["items"][0]["id"] == meta["id"]


def test_usage_splits_current_history_and_trash(api: Api) -> None:
    a = api.created("a.txt", "123")
    api.put(a["id"], "12345")
    b = api.created("b.txt", "1")
    api.delete(b["id"])
    assert api.get("/usage").json["bytes"] == {
        "used": 9,
        "limit": 1024**3,
        "current": 5,
        "history": 3,
        "trash": 1,
    }


def test_an_existing_file_gets_its_current_version_on_migration(
    backend: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, client: Any
) -> None:
    """Migration 11 on a database at the migration before it: the file keeps its version
    number, and its current version becomes the oldest one kept."""
    from chalicelib import clock
    from chalicelib.blobs import blobs
    from chalicelib.db import database, migrations
    from chalicelib.tenants import apikeys

    if backend == "real":
        url = request.getfixturevalue("postgres").create_database(f"mig_{uuid.uuid4().hex[:8]}")
        monkeypatch.setenv("DATABASE_URL", url)
    else:
        monkeypatch.setenv("DATA_DIR", str(request.getfixturevalue("tmp_path") / "mig"))
    every = list(migrations.MIGRATIONS)
    before = [m for m in every if m[0] < HISTORY_MIGRATION]
    monkeypatch.setattr(migrations, "MIGRATIONS", before)
    reset_drivers()
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    key = apikeys.create_key(tenant)
    assert migrations.current_version(database()) == before[-1][0]
    now, fid = clock.now_us(), "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"
    blob_key = f"tenants/{tenant}/files/{fid}/b1"
    blobs().put(blob_key, b"old body")
    database().execute(
        "INSERT INTO files (id, tenant_id, name, size, sha256, version, blob_key, created_us,"
        " updated_us, expires_us) VALUES (:id, :t, 'old.txt', 8, :sha, 3, :k, :now, :now, :exp)",
        id=fid, t=tenant, sha="ab" * 32, k=blob_key, now=now, exp=now + 30 * DAY * 1_000_000,
    )  # fmt: skip
    monkeypatch.setattr(migrations, "MIGRATIONS", every)
    assert migrations.migrate(database()) == every[-1][0]
    api = Api(client, key)
    kept = api.get(f"/files/{fid}/versions").json["items"]
    assert [(v["version"], v["superseded_at"]) for v in kept] == [(3, None)]
    assert kept[0]["expires_at"] == api.get(f"/files/{fid}/metadata").json["expires_at"]
    assert api.put(fid, "new body").json["version"] == 4
    assert numbers(api, fid) == [4, 3]
    assert api.get(f"/files/{fid}/versions/3").text == "old body"
    assert api.get("/usage").json["bytes"]["used"] == 16
