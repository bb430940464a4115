"""The files API, route by route and status by status, on embedded and real backends."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from conftest import FakeClock
from support.api import TEXT, Api

DAY = 86_400


def test_create_returns_201_location_and_metadata(api: Api) -> None:
    reply = api.create("notes.txt", "Hello, world\n")
    assert reply.status == 201
    meta = reply.json
    assert reply.headers["Location"] == f"/files/{meta['id']}"
    assert meta["name"] == "notes.txt"
    assert meta["size"] == len(b"Hello, world\n")
    assert meta["sha256"] == hashlib.sha256(b"Hello, world\n").hexdigest()
    assert meta["etag"] == reply.headers["ETag"] == f'"{meta["sha256"]}"'
    assert meta["version"] == 1
    assert meta["created_at"] == meta["updated_at"]
    assert meta["expires_at"] > meta["created_at"]


def test_read_returns_body_with_validators(api: Api) -> None:
    body = "ünïcödé text\r\nline 2\t\n"
    meta = api.created("u.txt", body)
    reply = api.get(f"/files/{meta['id']}")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reply.text == body
    assert reply.headers["ETag"] == meta["etag"]
    assert reply.headers["Last-Modified"].endswith("GMT")


def test_empty_body_is_a_file(api: Api) -> None:
    meta = api.created("empty.txt", b"")
    assert meta["size"] == 0
    assert api.get(f"/files/{meta['id']}").body == b""


def test_if_none_match_gives_304(api: Api) -> None:
    meta = api.created("c.txt", "cached")
    reply = api.get(f"/files/{meta['id']}", headers={"if-none-match": meta["etag"]})
    assert reply.status == 304
    assert reply.body == b""
    assert reply.headers["ETag"] == meta["etag"]
    other = api.get(f"/files/{meta['id']}", headers={"if-none-match": '"nope"'})
    assert other.status == 200


def test_metadata_route(api: Api) -> None:
    meta = api.created("m.txt", "x")
    reply = api.get(f"/files/{meta['id']}/metadata")
    assert reply.status == 200
    assert reply.json == meta


def test_replace_bumps_version_and_etag(api: Api) -> None:
    meta = api.created("r.txt", "one")
    reply = api.put(meta["id"], "two", {"if-match": meta["etag"]})
    assert reply.status == 200
    new = reply.json
    assert new["version"] == 2
    assert new["etag"] != meta["etag"]
    assert new["size"] == 3
    assert new["created_at"] == meta["created_at"]
    assert api.get(f"/files/{meta['id']}").text == "two"


def test_replace_with_stale_if_match_is_412_and_keeps_body(api: Api) -> None:
    meta = api.created("s.txt", "one")
    assert api.put(meta["id"], "two").status == 200
    stale = api.put(meta["id"], "three", {"if-match": meta["etag"]})
    assert stale.status == 412
    assert stale.json["Code"] == "PreconditionFailed"
    assert api.get(f"/files/{meta['id']}").text == "two"
    assert api.put(meta["id"], "star", {"if-match": "*"}).status == 200


def test_rename(api: Api) -> None:
    meta = api.created("old.txt", "body")
    reply = api.rename(meta["id"], "new.txt")
    assert reply.status == 200
    assert reply.json["name"] == "new.txt"
    assert reply.json["version"] == 2
    assert reply.json["expires_at"] == meta["expires_at"]
    assert api.get(f"/files/{meta['id']}").text == "body"
    assert api.created("old.txt", "again")["name"] == "old.txt"


def test_rename_to_taken_name_is_409(api: Api) -> None:
    a = api.created("a.txt")
    api.created("b.txt")
    reply = api.rename(a["id"], "b.txt")
    assert reply.status == 409
    assert api.get(f"/files/{a['id']}/metadata").json["name"] == "a.txt"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1]", b'{"name": 3}', b"{}", b'{"name": "x", "extra": 1}', b"\xff"],
)
def test_rename_with_bad_json_is_400(api: Api, body: bytes) -> None:
    meta = api.created("j.txt")
    reply = api.call("PATCH", f"/files/{meta['id']}", body, {"content-type": "application/json"})
    assert reply.status == 400
    assert set(reply.json) >= {"Code", "Message"}


def test_rename_needs_json_content_type(api: Api) -> None:
    meta = api.created("ct.txt")
    reply = api.call("PATCH", f"/files/{meta['id']}", '{"name": "x"}', TEXT)
    assert reply.status == 415


def test_delete(api: Api) -> None:
    meta = api.created("d.txt")
    reply = api.delete(meta["id"])
    assert reply.status == 204
    assert reply.body == b""
    assert api.get(f"/files/{meta['id']}").status == 404
    assert api.delete(meta["id"]).status == 404
    assert api.created("d.txt")["name"] == "d.txt"


def test_duplicate_name_is_409_and_first_file_kept(api: Api) -> None:
    first = api.created("dup.txt", "first")
    reply = api.create("dup.txt", "second")
    assert reply.status == 409
    assert reply.json["Code"] == "Conflict"
    assert api.get(f"/files/{first['id']}").text == "first"
    assert len(api.get("/files").json["items"]) == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "required"),
        ("a/b", "/"),
        ("x" * 256, "255"),
        ("tab\there", "control"),
        ("nl\n", "control"),
    ],
)
def test_bad_names_are_400(api: Api, name: str, reason: str) -> None:
    reply = api.create(name, "x")
    assert reply.status == 400
    assert reason in reply.json["Message"]


def test_missing_name_parameter_is_400(api: Api) -> None:
    assert api.call("POST", "/files", "x", TEXT).status == 400


def test_longest_name_and_unicode_names_are_fine(api: Api) -> None:
    assert api.create("x" * 255, "x").status == 201
    assert api.create("résumé — 履歴書.txt", "x").status == 201


@pytest.mark.parametrize(
    ("body", "why"),
    [(b"nul\x00byte", "NUL"), (b"\xff\xfe", "UTF-8"), (b"ok then \xc3", "UTF-8")],
)
def test_non_plaintext_is_415_and_nothing_written(api: Api, body: bytes, why: str) -> None:
    reply = api.create("bin.txt", body)
    assert reply.status == 415
    assert why in reply.json["Message"]
    assert api.get("/files").json["items"] == []


def test_wrong_content_type_is_415(api: Api) -> None:
    reply = api.create("x.json", "{}", {"content-type": "application/json"})
    assert reply.status == 415
    assert reply.json["Code"] == "UnsupportedMediaType"


def test_body_over_inline_limit_is_413(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_INLINE_BYTES", "10")
    assert api.create("fits.txt", "0123456789").status == 201
    reply = api.create("big.txt", "0123456789A")
    assert reply.status == 413
    assert "10 bytes" in reply.json["Message"]
    meta = api.get("/files").json["items"][0]
    assert api.put(meta["id"], "x" * 11).status == 413
    assert api.get(f"/files/{meta['id']}").text == "0123456789"


def test_default_inline_limit_is_5_mib(api: Api) -> None:
    assert api.create("big.txt", b"a" * (5 * 1024 * 1024 + 1)).status == 413


def test_replace_with_non_plaintext_is_415_and_keeps_body(api: Api) -> None:
    meta = api.created("keep.txt", "good")
    assert api.put(meta["id"], b"\x00").status == 415
    assert api.get(f"/files/{meta['id']}").text == "good"


def test_unknown_file_is_404_everywhere(api: Api) -> None:
    for method, path in [
        ("GET", "/files/nope"),
        ("GET", "/files/nope/metadata"),
        ("DELETE", "/files/nope"),
    ]:
        assert api.call(method, path).status == 404
    assert api.put("nope", "x").status == 404
    assert api.rename("nope", "x").status == 404


# --- keys -------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer wrong"}, {"x-api-key": "wrong"}, {"authorization": "Basic abc"}],
)
def test_requests_without_a_valid_key_are_401(api: Api, headers: dict[str, str]) -> None:
    meta = api.created("secret.txt")
    anonymous = Api(api.client, None)
    for method, path in [
        ("GET", "/files"),
        ("GET", f"/files/{meta['id']}"),
        ("GET", f"/files/{meta['id']}/metadata"),
        ("DELETE", f"/files/{meta['id']}"),
    ]:
        reply = anonymous.call(method, path, headers=headers)
        assert reply.status == 401, (method, path)
        assert reply.json["Code"] == "Unauthorized"
    assert anonymous.create("x.txt", "x", headers).status == 401
    assert anonymous.call("PUT", f"/files/{meta['id']}", "x", {**TEXT, **headers}).status == 401
    assert api.get(f"/files/{meta['id']}").text == "hello"


def test_x_api_key_header_works(api: Api) -> None:
    meta = api.created("k.txt", "via header")
    plain = Api(api.client, None)
    reply = plain.get(f"/files/{meta['id']}", headers={"x-api-key": str(api.key)})
    assert reply.status == 200
    assert reply.text == "via header"


def test_health_and_openapi_need_no_key(client: Any) -> None:
    assert client.http.get("/health").status_code == 200
    assert client.http.get("/openapi.json").status_code == 200


# --- tenants ----------------------------------------------------------------


def test_tenants_are_isolated_on_every_route(api: Api, other_api: Api) -> None:
    mine = api.created("mine.txt", "private")
    fid = mine["id"]
    assert other_api.get(f"/files/{fid}").status == 404
    assert other_api.get(f"/files/{fid}/metadata").status == 404
    assert other_api.put(fid, "overwrite").status == 404
    assert other_api.rename(fid, "stolen.txt").status == 404
    assert other_api.delete(fid).status == 404
    assert other_api.get("/files").json["items"] == []
    assert other_api.get("/files?q=private").json["items"] == []
    assert other_api.created("mine.txt", "theirs")["name"] == "mine.txt"
    assert api.get(f"/files/{fid}").text == "private"
    assert api.get(f"/files/{fid}/metadata").json == mine


# --- retention ----------------------------------------------------------------


def test_file_expires_30_days_after_last_write(api: Api, clock: FakeClock) -> None:
    meta = api.created("old.txt", "v1")
    clock.advance(29 * DAY)
    assert api.get(f"/files/{meta['id']}").status == 200
    clock.advance(DAY)
    for path in (f"/files/{meta['id']}", f"/files/{meta['id']}/metadata"):
        assert api.get(path).status == 404
    assert api.get("/files").json["items"] == []
    assert api.put(meta["id"], "late").status == 404
    assert api.delete(meta["id"]).status == 404
    reborn = api.created("old.txt", "new life")
    assert reborn["id"] != meta["id"]


def test_replace_resets_retention_but_rename_does_not(api: Api, clock: FakeClock) -> None:
    meta = api.created("r.txt", "v1")
    clock.advance(20 * DAY)
    renamed = api.rename(meta["id"], "r2.txt").json
    assert renamed["expires_at"] == meta["expires_at"]
    replaced = api.put(meta["id"], "v2").json
    assert replaced["expires_at"] > meta["expires_at"]
    clock.advance(20 * DAY)
    assert api.get(f"/files/{meta['id']}").text == "v2"


def test_expired_name_can_be_renamed_into(api: Api, clock: FakeClock) -> None:
    old = api.created("taken.txt")
    clock.advance(31 * DAY)
    fresh = api.created("fresh.txt")
    assert api.rename(fresh["id"], "taken.txt").status == 200
    assert api.get(f"/files/{old['id']}").status == 404


# --- listing ------------------------------------------------------------------


def test_list_is_newest_first_with_prefix(api: Api, clock: FakeClock) -> None:
    for name in ("a1", "b1", "a2", "a3"):
        api.created(name)
        clock.advance(1)
    page = api.get("/files").json
    assert [m["name"] for m in page["items"]] == ["a3", "a2", "b1", "a1"]
    assert page["next_cursor"] is None
    assert [m["name"] for m in api.get("/files?prefix=a").json["items"]] == ["a3", "a2", "a1"]
    assert api.get("/files?prefix=%25").json["items"] == []
    assert api.get("/files?prefix=A").json["items"] == []


def test_pagination_returns_every_file_once_while_files_are_added(
    api: Api, clock: FakeClock
) -> None:
    original = set()
    for i in range(23):
        original.add(api.created(f"f{i:03}")["id"])
        clock.advance(0.001)
    seen: list[str] = []
    cursor = None
    added = 0
    while True:
        path = "/files?limit=5" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(path).json
        assert len(page["items"]) <= 5
        seen += [m["id"] for m in page["items"]]
        api.created(f"new{added}")
        clock.advance(0.001)
        added += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a file was listed twice"
    assert set(seen) == original, "every file present at the start, each once, none added later"
    assert added == 5


def test_pagination_with_equal_timestamps(api: Api, clock: FakeClock) -> None:
    ids = {api.created(f"same{i}")["id"] for i in range(7)}
    first = api.get("/files?limit=3").json
    second = api.get(f"/files?limit=3&cursor={first['next_cursor']}").json
    third = api.get(f"/files?limit=3&cursor={second['next_cursor']}").json
    got = [m["id"] for p in (first, second, third) for m in p["items"]]
    assert sorted(got) == sorted(ids)
    assert third["next_cursor"] is None


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=1001", "limit=x", "limit=-1", "cursor=%%%", "cursor=bm9wZQ"]
)
def test_bad_list_parameters_are_400(api: Api, query: str) -> None:
    reply = api.get(f"/files?{query}")
    assert reply.status == 400
    assert reply.json["Code"] == "BadRequest"


def test_limit_bounds_are_accepted(api: Api) -> None:
    api.created("one")
    assert api.get("/files?limit=1").status == 200
    assert api.get("/files?limit=1000").status == 200


# --- search -------------------------------------------------------------------


def test_full_text_search_needs_every_word(api: Api) -> None:
    a = api.created("a.txt", "The quick brown fox jumps over the lazy dog")
    b = api.created("b.txt", "A quick brown cat")
    api.created("c.txt", "Nothing to see")

    def names(q: str) -> list[str]:
        return sorted(m["name"] for m in api.get(f"/files?q={q}").json["items"])

    assert names("quick") == ["a.txt", "b.txt"]
    assert names("quick+fox") == ["a.txt"]
    assert names("QUICK+Brown") == ["a.txt", "b.txt"]
    assert names("quick+giraffe") == []
    assert names("%22fox%22+OR+cat") == []
    api.put(a["id"], "giraffe only")
    assert names("giraffe") == ["a.txt"]
    assert names("fox") == []
    api.delete(b["id"])
    assert names("cat") == []


@pytest.mark.parametrize(
    "query", ["q=%20%2B%2B", "q=" + "a+" * 33, "q=" + "x" * 1001, "prefix=" + "p" * 256]
)
def test_unusable_search_or_prefix_is_400(api: Api, query: str) -> None:
    assert api.get(f"/files?{query}").status == 400


# --- caching ------------------------------------------------------------------


def test_no_stale_read_after_any_write(api: Api) -> None:
    meta = api.created("c.txt", "v1")
    fid = meta["id"]
    for _ in range(2):
        assert api.get(f"/files/{fid}").text == "v1"
    assert api.put(fid, "v2").status == 200
    assert api.get(f"/files/{fid}").text == "v2"
    assert api.get(f"/files/{fid}/metadata").json["version"] == 2
    assert api.rename(fid, "d.txt").status == 200
    assert api.get(f"/files/{fid}/metadata").json["name"] == "d.txt"
    assert api.get(f"/files/{fid}").text == "v2"
    assert api.delete(fid).status == 204
    assert api.get(f"/files/{fid}").status == 404
    assert api.get(f"/files/{fid}/metadata").status == 404


def test_revoked_key_is_refused_at_once(api: Api) -> None:
    from chalicelib.tenants import apikeys

    assert api.get("/files").status == 200
    assert apikeys.revoke_key(str(api.key))
    assert api.get("/files").status == 401


def test_health_reports_every_backend(client: Any, backend: str) -> None:
    reply = client.http.get("/health")
    assert reply.status_code == 200
    report = json.loads(reply.body)
    assert report["status"] == "ok"
    assert set(report["checks"]) >= {"database", "cache", "storage"}
    assert all(c["status"] == "ok" for c in report["checks"].values())
    expected = "postgresql" if backend == "real" else "sqlite"
    assert report["checks"]["database"]["driver"] == expected
    assert {"hits", "misses"} <= set(report["checks"]["cache"])
