"""Idempotency-Key (docs/idempotency.md) on the other routes that create or start something:
POST /exports and the history's restores, on the embedded drivers and on the real backends."""

from __future__ import annotations

from typing import Any

from support.api import Api

REPLAYED = "Idempotent-Replayed"


def task_count(api: Api) -> int:
    from chalicelib.db import database
    from chalicelib.tenants import apikeys

    tenant = apikeys.lookup(apikeys.hash_key(str(api.key)))
    assert tenant is not None
    sql = "SELECT COUNT(*) AS n FROM tasks WHERE tenant_id = :t"
    return int(database().query(sql, t=tenant.id)[0]["n"])


def test_an_export_is_started_once_per_key(api: Api) -> None:
    api.created("a.txt", "alpha")
    key = {"idempotency-key": "export-1"}
    first = api.call("POST", "/exports", headers=key)
    assert first.status == 202, first.body
    task_id = first.json["id"]
    assert api.call("DELETE", f"/tasks/{task_id}").status in (200, 204)  # no longer running
    again = api.call("POST", "/exports", headers=key)
    assert (again.status, again.headers[REPLAYED]) == (202, "true")
    assert again.json == first.json
    assert again.headers["Location"] == f"/tasks/{task_id}"
    assert task_count(api) == 1  # the replay started nothing
    fresh = api.call("POST", "/exports", headers={"idempotency-key": "export-2"})
    assert fresh.status == 202 and fresh.json["id"] != task_id
    assert task_count(api) == 2


def test_a_version_restore_is_made_once_per_key(api: Api) -> None:
    meta = api.created("v.txt", "one")
    assert api.put(meta["id"], "two").status == 200
    path = f"/files/{meta['id']}/versions/1/restore"
    key = {"idempotency-key": "restore-v1"}
    first = api.call("POST", path, headers=key)
    assert first.status == 200, first.body
    assert first.json["version"] == 3
    again = api.call("POST", path, headers=key)
    assert (again.status, again.headers[REPLAYED]) == (200, "true")
    assert again.json == first.json and again.headers["ETag"] == first.headers["ETag"]
    versions = api.get(f"/files/{meta['id']}/versions").json["items"]
    assert [v["version"] for v in versions] == [3, 2, 1]  # no fourth version
    other = api.call("POST", f"/files/{meta['id']}/versions/2/restore", headers=key)
    assert other.status == 422


def test_a_trash_restore_replays_its_answer(api: Api) -> None:
    meta = api.created("t.txt", "one")
    assert api.delete(meta["id"]).status == 204
    key = {"idempotency-key": "undelete-1"}
    first = api.call("POST", f"/trash/{meta['id']}/restore", headers=key)
    assert first.status == 200, first.body
    again = api.call("POST", f"/trash/{meta['id']}/restore", headers=key)
    assert (again.status, again.headers[REPLAYED]) == (200, "true")
    assert again.headers["Location"] == first.headers["Location"] == f"/files/{meta['id']}"
    assert again.json == first.json
    assert api.get("/trash").json["items"] == []
    files: list[dict[str, Any]] = api.get("/files").json["items"]
    assert [f["version"] for f in files] == [first.json["version"]]


def test_a_restore_that_found_nothing_is_replayed_as_such(api: Api) -> None:
    """A 404 is final: the same request gets it again (the key is not a new chance)."""
    meta = api.created("gone.txt", "x")
    key = {"idempotency-key": "nothing-1"}
    missing = api.call("POST", f"/trash/{meta['id']}/restore", headers=key)
    assert missing.status == 404
    again = api.call("POST", f"/trash/{meta['id']}/restore", headers=key)
    assert (again.status, again.headers[REPLAYED]) == (404, "true")
