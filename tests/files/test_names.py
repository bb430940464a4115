"""Files by name (GET, HEAD, PUT, DELETE /names/{name}), on embedded and real backends: the same
bodies, headers, limits and errors as the id routes, create-only and overwrite-if-unchanged
writes, and a name percent-encoded in the path, decoded once (docs/writes.md)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from support.api import TEXT, Api, Reply


def path(name: str) -> str:
    return "/names/" + quote(name, safe="")


def put(api: Api, name: str, body: bytes | str, headers: dict[str, str] | None = None) -> Reply:
    return api.call("PUT", path(name), body, {**TEXT, **(headers or {})})


def assert_error(reply: Reply, status: int, code: str, *words: str) -> None:
    assert reply.status == status, reply.body
    assert reply.json["Code"] == code
    for word in words:
        assert word in reply.json["Message"]


def names_listed(api: Api) -> list[str]:
    return [item["name"] for item in api.get("/files").json["items"]]


def test_put_creates_then_replaces_the_same_file(api: Api) -> None:
    created = put(api, "notes.txt", "one")
    assert created.status == 201, created.body
    meta = created.json
    assert created.headers["Location"] == f"/files/{meta['id']}"
    assert created.headers["ETag"] == meta["etag"]
    assert (meta["name"], meta["version"], meta["size"]) == ("notes.txt", 1, 3)

    replaced = put(api, "notes.txt", "two!")
    assert replaced.status == 200, replaced.body
    assert "Location" not in replaced.headers
    assert (replaced.json["id"], replaced.json["version"]) == (meta["id"], 2)
    assert replaced.headers["ETag"] == replaced.json["etag"] != meta["etag"]
    assert api.get(f"/files/{meta['id']}").text == "two!"
    assert names_listed(api) == ["notes.txt"]


def test_get_by_name_answers_as_get_by_id(api: Api) -> None:
    meta = api.created("read.txt", "ünïcödé\n")
    by_name, by_id = api.get(path("read.txt")), api.get(f"/files/{meta['id']}")
    assert (by_name.status, by_name.body) == (200, by_id.body)
    for header in ("Content-Type", "ETag", "Last-Modified", "Cache-Control"):
        assert by_name.headers[header] == by_id.headers[header]
    not_modified = api.get(path("read.txt"), {"if-none-match": meta["etag"]})
    assert (not_modified.status, not_modified.body) == (304, b"")
    assert_error(api.get(path("read.txt"), {"if-match": '"stale"'}), 412, "PreconditionFailed")
    assert api.get(path("read.txt"), {"if-match": meta["record_etag"]}).status == 200


def test_head_by_name_is_the_gets_headers_without_a_body(api: Api) -> None:
    meta = api.created("head.txt", "some body")
    head = api.call("HEAD", path("head.txt"))
    assert (head.status, head.body) == (200, b"")
    assert head.headers["ETag"] == meta["etag"]
    assert head.headers["Content-Type"] == "text/plain; charset=utf-8"
    missing = api.call("HEAD", path("nothing.txt"))
    assert (missing.status, missing.body) == (404, b"")
    stale = api.call("HEAD", path("head.txt"), headers={"if-match": '"stale"'})
    assert (stale.status, stale.body) == (412, b"")


def test_by_name_a_large_body_is_headed_without_a_redirect_and_ranged(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HEAD by name answers as HEAD by id: the size, never a link; GET by name takes Range."""
    meta = api.created("big.txt", "0123456789" * 4)
    ranged = api.get(path("big.txt"), {"range": "bytes=2-5"})
    assert (ranged.status, ranged.body) == (206, b"2345")
    assert ranged.headers["Content-Range"] == "bytes 2-5/40"
    monkeypatch.setenv("MAX_INLINE_BYTES", "16")
    head = api.call("HEAD", path("big.txt"))
    assert (head.status, head.body) == (200, b"")
    assert head.headers["Content-Length"] == "40" and head.headers["ETag"] == meta["etag"]
    assert "Location" not in head.headers


def test_a_missing_name_is_404_on_every_method(api: Api) -> None:
    assert_error(api.get(path("none.txt")), 404, "NotFound", "none.txt")
    assert_error(api.call("DELETE", path("none.txt")), 404, "NotFound")


def test_delete_by_name_trashes_the_file(api: Api) -> None:
    meta = api.created("bin.txt", "x")
    reply = api.call("DELETE", path("bin.txt"))
    assert (reply.status, reply.body) == (204, b"")
    assert api.get(f"/files/{meta['id']}").status == 404
    assert api.get("/trash").json["items"][0]["id"] == meta["id"]
    assert put(api, "bin.txt", "again").status == 201  # the name is free


def test_delete_by_name_under_if_match(api: Api) -> None:
    meta = api.created("guarded.txt", "one")
    api.put(meta["id"], "two")
    stale = api.call("DELETE", path("guarded.txt"), headers={"if-match": meta["etag"]})
    assert_error(stale, 412, "PreconditionFailed")
    assert api.get(path("guarded.txt")).text == "two"
    current = api.get(f"/files/{meta['id']}/metadata").headers["ETag"]
    assert api.call("DELETE", path("guarded.txt"), headers={"if-match": current}).status == 204


# --- create-only and overwrite-if-unchanged ---------------------------------------------------


def test_if_none_match_star_creates_only(api: Api) -> None:
    first = put(api, "once.txt", "first", {"if-none-match": "*"})
    assert first.status == 201, first.body
    again = put(api, "once.txt", "second", {"if-none-match": "*"})
    assert_error(again, 412, "PreconditionFailed", "already exists")
    assert api.get(path("once.txt")).text == "first"


def test_if_match_overwrites_only_if_unchanged(api: Api) -> None:
    meta = put(api, "cas.txt", "one").json
    assert put(api, "cas.txt", "two", {"if-match": meta["etag"]}).status == 200
    assert_error(
        put(api, "cas.txt", "three", {"if-match": meta["etag"]}), 412, "PreconditionFailed"
    )
    assert_error(
        put(api, "cas.txt", "three", {"if-match": meta["record_etag"]}), 412, "PreconditionFailed"
    )
    assert api.get(path("cas.txt")).text == "two"


def test_if_match_on_a_name_nobody_holds_is_412_and_creates_nothing(api: Api) -> None:
    for tag in ("*", '"abc"'):
        assert_error(put(api, "ghost.txt", "x", {"if-match": tag}), 412, "PreconditionFailed")
    assert names_listed(api) == []


def test_if_none_match_of_an_etag_is_400(api: Api) -> None:
    meta = put(api, "inm.txt", "one").json
    assert_error(put(api, "inm.txt", "two", {"if-none-match": meta["etag"]}), 400, "BadRequest")
    assert api.get(path("inm.txt")).text == "one"


@pytest.mark.parametrize("header", ["if-unmodified-since", "if-modified-since"])
def test_a_date_precondition_on_put_is_400(api: Api, header: str) -> None:
    reply = put(api, "date.txt", "x", {header: "Mon, 07 Dec 2099 00:00:00 GMT"})
    assert_error(reply, 400, "BadRequest", header.title())
    assert names_listed(api) == []


# --- the same limits and errors as the id routes ----------------------------------------------


def test_bodies_are_checked_as_on_the_id_routes(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_error(put(api, "nul.txt", b"a\x00b"), 415, "UnsupportedMediaType", "NUL")
    assert_error(put(api, "bad.txt", b"\xff"), 415, "UnsupportedMediaType", "UTF-8")
    monkeypatch.setenv("MAX_INLINE_BYTES", "10")
    assert_error(put(api, "big.txt", "x" * 11), 413, "PayloadTooLarge", "/files/uploads")
    reply = api.call("PUT", path("json.txt"), "{}", {"content-type": "application/json"})
    assert reply.status == 415
    assert names_listed(api) == []


def test_a_tenant_sees_only_its_own_names(api: Api, other_api: Api) -> None:
    mine = put(api, "shared.txt", "mine").json
    assert other_api.get(path("shared.txt")).status == 404
    theirs = put(other_api, "shared.txt", "theirs")
    assert theirs.status == 201
    assert theirs.json["id"] != mine["id"]
    assert api.get(path("shared.txt")).text == "mine"


def test_no_key_is_401(api: Api) -> None:
    anonymous = Api(api.client, None)
    assert anonymous.get(path("x.txt")).status == 401
    assert put(anonymous, "x.txt", "x").status == 401


# --- names in the path: percent-encoded, decoded once -----------------------------------------


@pytest.mark.parametrize(
    "name",
    ["with space.txt", "100%.txt", "what?.txt", "#hash", "a+b=c&d.txt", "ünï €.txt", "..", "%2F"],
)
def test_any_name_round_trips_through_the_path(api: Api, name: str) -> None:
    created = put(api, name, "body")
    assert created.status == 201, created.body
    assert created.json["name"] == name
    assert api.get(path(name)).text == "body"
    assert api.get(f"/files/{created.json['id']}/metadata").json["name"] == name
    assert api.call("DELETE", path(name)).status == 204


def test_an_encoded_slash_reaches_the_name_rule(api: Api) -> None:
    """`%2F` stays in its path segment and is decoded to `/`, which no name holds: the name
    rule's 400, not a missing route and not a file named `%2F`."""
    for method in ("GET", "PUT", "DELETE"):
        reply = api.call(method, "/names/a%2Fb.txt", b"x", TEXT if method == "PUT" else {})
        assert_error(reply, 400, "BadRequest", "'/'")
    assert names_listed(api) == []


@pytest.mark.parametrize("raw", ["%FF.txt", "%C3", "a%00b"])
def test_a_path_that_is_not_a_valid_name_is_400(api: Api, raw: str) -> None:
    assert_error(api.get("/names/" + raw), 400, "BadRequest")


def test_a_name_made_by_post_is_found_by_name(api: Api, clock: Any) -> None:
    meta = api.created("posted.txt", "by id")
    assert api.get(path("posted.txt")).headers["ETag"] == meta["etag"]
    clock.advance(31 * 86_400)  # expired: the name holds no file
    assert api.get(path("posted.txt")).status == 404
    assert put(api, "posted.txt", "new", {"if-none-match": "*"}).status == 201
