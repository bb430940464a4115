"""History (docs/history.md): versions, diffs, restores and the trash, on embedded and real
backends."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from conftest import FakeClock
from support.api import Api

DAY = 86_400


def versions(api: Api, file_id: str, query: str = "") -> list[dict[str, Any]]:
    reply = api.get(f"/files/{file_id}/versions{query}")
    assert reply.status == 200, reply.body
    items: list[dict[str, Any]] = reply.json["items"]
    return items


def test_every_write_makes_the_next_version(api: Api) -> None:
    meta = api.created("v.txt", "one\n")
    fid = meta["id"]
    assert api.put(fid, "two\n").status == 200
    assert api.rename(fid, "w.txt").status == 200
    assert api.put(fid, "three\n").status == 200
    kept = versions(api, fid)
    assert [v["version"] for v in kept] == [4, 3, 2, 1]
    assert [v["name"] for v in kept] == ["w.txt", "w.txt", "v.txt", "v.txt"]
    assert kept[0]["superseded_at"] is None
    assert all(v["superseded_at"] is not None for v in kept[1:])
    assert kept[1]["sha256"] == kept[2]["sha256"]  # a rename's version shares the body
    assert kept[3]["etag"] == '"' + hashlib.sha256(b"one\n").hexdigest() + '"'
    current = api.get(f"/files/{fid}/metadata").json
    assert current["version"] == 4
    assert kept[0]["expires_at"] == current["expires_at"]


def test_a_version_body_is_immutable_and_conditional(api: Api) -> None:
    meta = api.created("b.txt", "first")
    api.put(meta["id"], "second")
    reply = api.get(f"/files/{meta['id']}/versions/1")
    assert reply.status == 200
    assert reply.text == "first"
    assert reply.headers["ETag"] == meta["etag"]
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reply.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    again = api.get(f"/files/{meta['id']}/versions/1", {"if-none-match": meta["etag"]})
    assert again.status == 304
    assert api.get(f"/files/{meta['id']}").text == "second"
    info = api.get(f"/files/{meta['id']}/versions/1/metadata")
    assert info.status == 200
    assert info.json["version"] == 1
    assert info.json["size"] == 5


@pytest.mark.parametrize("number", ["0", "3", "x", "-1", "99999999999", "1.0"])
def test_a_version_that_is_not_kept_is_404(api: Api, number: str) -> None:
    meta = api.created("n.txt", "a")
    api.put(meta["id"], "b")
    for path in (f"/versions/{number}", f"/versions/{number}/metadata"):
        reply = api.get(f"/files/{meta['id']}{path}")
        assert reply.status == 404, (path, reply.body)
        assert reply.json["Code"] == "NotFound"


def test_versions_are_paged_newest_first(api: Api) -> None:
    meta = api.created("p.txt", "0")
    for n in range(1, 5):
        api.put(meta["id"], str(n))
    first = api.get(f"/files/{meta['id']}/versions?limit=2").json
    assert [v["version"] for v in first["items"]] == [5, 4]
    second = api.get(f"/files/{meta['id']}/versions?limit=2&cursor={first['next_cursor']}").json
    assert [v["version"] for v in second["items"]] == [3, 2]
    third = api.get(f"/files/{meta['id']}/versions?limit=2&cursor={second['next_cursor']}").json
    assert [v["version"] for v in third["items"]] == [1]
    assert third["next_cursor"] is None
    assert api.get(f"/files/{meta['id']}/versions?cursor=nope").status == 400
    assert api.get(f"/files/{meta['id']}/versions?limit=0").status == 400


def test_diff_between_two_versions(api: Api) -> None:
    meta = api.created("d.txt", "a\nb\nc\n")
    api.put(meta["id"], "a\nB\nc")
    reply = api.get(f"/files/{meta['id']}/diff?from=1&to=2")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/x-diff; charset=utf-8"
    assert reply.text == (
        "--- d.txt@v1\n+++ d.txt@v2\n@@ -1,3 +1,3 @@\n a\n-b\n-c\n+B\n+c\n"
        "\\ No newline at end of file\n"
    )
    assert api.get(f"/files/{meta['id']}/diff?from=1").text == reply.text  # to: the current
    assert api.get(f"/files/{meta['id']}/diff?from=2&to=2").text == ""


@pytest.mark.parametrize(
    ("query", "status"),
    [("", 400), ("?from=x", 400), ("?from=1&to=0", 400), ("?from=9", 404), ("?from=1&to=9", 404)],
)
def test_bad_diffs_are_clear_4xx(api: Api, query: str, status: int) -> None:
    meta = api.created("bd.txt", "a")
    api.put(meta["id"], "b")
    reply = api.get(f"/files/{meta['id']}/diff{query}")
    assert reply.status == status, reply.body
    assert reply.json["Message"]


def test_a_diff_past_its_bound_is_413(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIFF_MAX_BYTES", "10")
    meta = api.created("big.txt", "0123456789x")
    api.put(meta["id"], "small")
    reply = api.get(f"/files/{meta['id']}/diff?from=1&to=2")
    assert reply.status == 413
    assert "DIFF_MAX_BYTES" in reply.json["Message"]


def test_restore_a_version_makes_a_new_one(api: Api) -> None:
    meta = api.created("r.txt", "good")
    bad = api.put(meta["id"], "bad").json
    stale = api.call(
        "POST", f"/files/{meta['id']}/versions/1/restore", headers={"if-match": meta["etag"]}
    )
    assert stale.status == 412
    reply = api.call(
        "POST", f"/files/{meta['id']}/versions/1/restore", headers={"if-match": bad["etag"]}
    )
    assert reply.status == 200, reply.body
    assert reply.json["version"] == 3
    assert reply.json["etag"] == meta["etag"]
    assert api.get(f"/files/{meta['id']}").text == "good"
    assert api.get(f"/files/{meta['id']}/versions/2").text == "bad"
    assert [v["version"] for v in versions(api, meta["id"])] == [3, 2, 1]
    assert api.get(f"/files/{meta['id']}?", {}).text == "good"
    assert api.call("POST", f"/files/{meta['id']}/versions/7/restore").status == 404


def test_delete_moves_to_the_trash_and_frees_the_name(api: Api) -> None:
    meta = api.created("t.txt", "keep me")
    api.put(meta["id"], "keep me 2")
    assert api.delete(meta["id"]).status == 204
    for path in (
        "",
        "/metadata",
        "/versions",
        "/versions/1",
        "/versions/2/metadata",
        "/diff?from=1",
    ):
        assert api.get(f"/files/{meta['id']}{path}").status == 404, path
    assert api.put(meta["id"], "x").status == 404
    assert api.delete(meta["id"]).status == 404
    trashed = api.get("/trash").json
    assert [t["id"] for t in trashed["items"]] == [meta["id"]]
    item = trashed["items"][0]
    assert item["name"] == "t.txt"
    assert item["version"] == 2
    assert set(item) >= {"deleted_at", "expires_at"}
    again = api.created("t.txt", "new one")
    assert again["id"] != meta["id"]
    taken = api.call("POST", f"/trash/{meta['id']}/restore")
    assert taken.status == 409
    assert "?name=" in taken.json["Message"]
    back = api.call("POST", f"/trash/{meta['id']}/restore?name=t2.txt")
    assert back.status == 200, back.body
    assert back.json["name"] == "t2.txt"
    assert back.json["version"] == 3
    assert api.get(f"/files/{meta['id']}").text == "keep me 2"
    assert [v["version"] for v in versions(api, meta["id"])] == [3, 2, 1]
    assert api.get(f"/files/{meta['id']}/versions/1").text == "keep me"
    assert api.get("/trash").json["items"] == []
    assert api.call("POST", f"/trash/{meta['id']}/restore").status == 404


def test_a_restore_from_the_trash_starts_the_retention_again(api: Api, clock: FakeClock) -> None:
    meta = api.created("e.txt", "x")
    clock.advance(20 * DAY)
    api.delete(meta["id"])
    clock.advance(20 * DAY)  # 40 days after the write: still in the trash (30 after deletion)
    item = api.get("/trash").json["items"][0]
    back = api.call("POST", f"/trash/{meta['id']}/restore").json
    assert back["expires_at"] > item["expires_at"]
    assert api.get(f"/files/{meta['id']}").text == "x"


def test_a_trashed_file_expires_30_days_after_its_deletion(api: Api, clock: FakeClock) -> None:
    meta = api.created("x.txt", "x")
    api.delete(meta["id"])
    clock.advance(30 * DAY + 1)
    assert api.get("/trash").json["items"] == []
    assert api.call("POST", f"/trash/{meta['id']}/restore").status == 404
    assert api.call("DELETE", f"/trash/{meta['id']}").status == 404


def test_delete_from_the_trash_is_permanent(api: Api) -> None:
    meta = api.created("gone.txt", "x")
    api.delete(meta["id"])
    assert api.call("DELETE", f"/trash/{meta['id']}").status == 204
    assert api.get("/trash").json["items"] == []
    assert api.call("POST", f"/trash/{meta['id']}/restore").status == 404
    assert api.call("DELETE", f"/trash/{meta['id']}").status == 404


def test_the_trash_is_paged_newest_deletion_first(api: Api, clock: FakeClock) -> None:
    ids = []
    for n in range(3):
        ids.append(api.created(f"f{n}.txt")["id"])
    for file_id in ids:
        clock.advance(1)
        api.delete(file_id)
    first = api.get("/trash?limit=2").json
    assert [t["id"] for t in first["items"]] == [ids[2], ids[1]]
    rest = api.get(f"/trash?limit=2&cursor={first['next_cursor']}").json
    assert [t["id"] for t in rest["items"]] == [ids[0]]
    assert rest["next_cursor"] is None
    assert api.get("/trash?cursor=x").status == 400


def test_another_tenants_ids_are_404(api: Api, other_api: Api) -> None:
    meta = api.created("mine.txt", "a")
    api.put(meta["id"], "b")
    fid = meta["id"]
    for path in ("/versions", "/versions/1", "/versions/1/metadata", "/diff?from=1"):
        assert other_api.get(f"/files/{fid}{path}").status == 404, path
    assert other_api.call("POST", f"/files/{fid}/versions/1/restore").status == 404
    api.delete(fid)
    assert other_api.get("/trash").json["items"] == []
    assert other_api.call("POST", f"/trash/{fid}/restore").status == 404
    assert other_api.call("DELETE", f"/trash/{fid}").status == 404
    assert api.get("/trash").json["items"][0]["id"] == fid


def test_a_large_version_answers_with_a_short_lived_link(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = api.created("large.txt", "12345678")
    api.put(meta["id"], "small")
    monkeypatch.setenv("MAX_INLINE_BYTES", "6")
    reply = api.get(f"/files/{meta['id']}/versions/1")
    assert reply.status == 307
    assert reply.headers["Location"]
    assert reply.headers["ETag"] == meta["etag"]
    assert reply.headers["Cache-Control"] == "private, no-store"
    assert api.get(f"/files/{meta['id']}/versions/2").text == "small"
