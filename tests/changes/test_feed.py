"""The change feed over HTTP (docs/changes.md), on embedded and real backends: what each write
records, paging and cursors, bad input, tenants, and writes that fail."""

from __future__ import annotations

import hashlib
import re
import urllib.request
from typing import Any
from urllib.parse import urlparse

import pytest

from support.api import Api

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def feed(api: Api, query: str = "") -> dict[str, Any]:
    reply = api.get(f"/changes{query}")
    assert reply.status == 200, reply.body
    result: dict[str, Any] = reply.json
    return result


def everything(api: Api) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = feed(api)["items"]
    return items


def etag(body: str) -> str:
    return '"' + hashlib.sha256(body.encode()).hexdigest() + '"'


def test_every_write_appears_once_in_commit_order_with_its_type(api: Api) -> None:
    fid = api.created("a.txt", "one")["id"]
    assert api.put(fid, "two").status == 200
    assert api.rename(fid, "b.txt").status == 200
    assert api.call("POST", f"/files/{fid}/versions/1/restore").status == 200
    assert api.delete(fid).status == 204
    assert api.call("POST", f"/trash/{fid}/restore?name=c.txt").status == 200
    assert api.delete(fid).status == 204
    assert api.call("DELETE", f"/trash/{fid}").status == 204
    items = everything(api)
    assert [(c["seq"], c["type"], c["name"], c["version"]) for c in items] == [
        (1, "created", "a.txt", 1),
        (2, "updated", "a.txt", 2),
        (3, "renamed", "b.txt", 3),
        (4, "updated", "b.txt", 4),  # a version restore is a new body
        (5, "deleted", "b.txt", 4),
        (6, "restored", "c.txt", 5),
        (7, "deleted", "c.txt", 5),
        (8, "purged", "c.txt", 5),
    ]
    assert {c["file_id"] for c in items} == {fid}
    assert [c["etag"] for c in items[:7]] == [etag("one"), *[etag("two")] * 2, *[etag("one")] * 4]
    assert [c["size"] for c in items] == [3, 3, 3, 3, 3, 3, 3, None]
    assert items[7]["etag"] is None
    assert all(ISO.fullmatch(c["at"]) for c in items)
    assert [c["at"] for c in items] == sorted(c["at"] for c in items)


def test_the_etag_is_the_one_a_read_answers(api: Api) -> None:
    reply = api.created_reply("e.txt", "body")
    (change,) = everything(api)
    assert change["etag"] == reply.headers["ETag"]
    assert change["etag"] == api.get(f"/files/{reply.json['id']}").headers["ETag"]


def test_pages_follow_the_cursor_and_the_head_cursor_polls(api: Api) -> None:
    names = [f"f{i}.txt" for i in range(5)]
    for name in names:
        api.created(name, name)
    first = feed(api, "?limit=2")
    assert [c["name"] for c in first["items"]] == names[:2]
    second = feed(api, f"?limit=2&cursor={first['next_cursor']}")
    assert [c["name"] for c in second["items"]] == names[2:4]
    third = feed(api, f"?cursor={second['next_cursor']}")
    assert [c["name"] for c in third["items"]] == names[4:]
    head = feed(api, f"?cursor={third['next_cursor']}")
    assert head == {"items": [], "next_cursor": third["next_cursor"]}  # never null
    assert api.get("/changes/latest").json == {"next_cursor": third["next_cursor"]}
    api.created("later.txt", "x")
    after = feed(api, f"?cursor={head['next_cursor']}")
    assert [c["name"] for c in after["items"]] == ["later.txt"]


def test_latest_follows_from_now_without_the_past(api: Api) -> None:
    api.created("old.txt", "x")
    cursor = api.get("/changes/latest").json["next_cursor"]
    assert feed(api, f"?cursor={cursor}")["items"] == []
    api.created("new.txt", "y")
    assert [c["name"] for c in feed(api, f"?cursor={cursor}")["items"]] == ["new.txt"]


def test_a_new_tenant_has_an_empty_feed_with_a_cursor(api: Api) -> None:
    empty = feed(api)
    assert empty["items"] == []
    assert empty["next_cursor"] == api.get("/changes/latest").json["next_cursor"]
    api.created("first.txt", "x")
    assert len(feed(api, f"?cursor={empty['next_cursor']}")["items"]) == 1


def test_the_default_page_is_100_changes(api: Api) -> None:
    fid = api.created("many.txt", "0")["id"]
    for i in range(1, 101):
        assert api.put(fid, str(i)).status == 200
    page = feed(api)
    assert len(page["items"]) == 100
    assert [c["seq"] for c in feed(api, f"?cursor={page['next_cursor']}")["items"]] == [101]
    assert len(feed(api, "?limit=1000")["items"]) == 101


@pytest.mark.parametrize(
    "query",
    [
        "?cursor=garbage",
        "?cursor=WyJjIiwgLTFd",  # ["c", -1]
        "?cursor=WzVd",  # [5]: not ours
        "?cursor=" + "A" * 41,
        "?limit=0",
        "?limit=1001",
        "?limit=x",
        "?wait=21",
        "?wait=-1",
        "?wait=1.5",
        "?wait=%C2%B2",
    ],
)
def test_bad_input_is_a_400(api: Api, query: str) -> None:
    reply = api.get(f"/changes{query}")
    assert reply.status == 400, reply.body
    assert reply.json["Code"] == "BadRequest"


def test_a_cursor_past_the_head_is_a_400(api: Api, other_api: Api) -> None:
    for i in range(3):
        other_api.created(f"o{i}.txt", "x")
    theirs = other_api.get("/changes/latest").json["next_cursor"]
    reply = api.get(f"/changes?cursor={theirs}")
    assert reply.status == 400
    assert "cursor" in reply.json["Message"]


def test_a_tenant_sees_only_its_own_changes(api: Api, other_api: Api) -> None:
    api.created("mine.txt", "x")
    other_api.created("theirs.txt", "y")
    assert [c["name"] for c in everything(api)] == ["mine.txt"]
    assert [(c["seq"], c["name"]) for c in everything(other_api)] == [(1, "theirs.txt")]


def test_a_write_refused_or_failed_records_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    fid = api.created("x.txt", "one")["id"]
    assert api.create("x.txt", "dup").status == 409
    assert api.put(fid, "two", {"if-match": '"stale"'}).status == 412
    api.created("y.txt", "y")
    assert api.rename(fid, "y.txt").status == 409
    assert api.put(fid, b"\x00").status == 415
    monkeypatch.setenv("QUOTA_MAX_FILES", "2")
    assert api.create("z.txt", "z").status == 403
    api.delete(fid)
    assert api.delete(fid).status == 404
    items = everything(api)
    assert [(c["seq"], c["type"], c["name"]) for c in items] == [
        (1, "created", "x.txt"),
        (2, "created", "y.txt"),
        (3, "deleted", "x.txt"),
    ]


def test_an_upload_completion_is_created(api: Api, backend: str) -> None:
    upload = api.call("POST", "/files/uploads?name=big.txt&size=10").json
    url = upload["url"]
    if url.startswith("http://127.0.0.1:8000/"):
        put = api.client.http.put(urlparse(url).path, headers=upload["headers"], body=b"large body")
        assert put.status_code in (200, 204)
    else:
        request = urllib.request.Request(
            url, data=b"large body", method="PUT", headers=upload["headers"]
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    done = api.call("POST", upload["complete_url"])
    assert done.status == 201, done.body
    items = everything(api)
    assert [(c["type"], c["file_id"], c["size"]) for c in items] == [
        ("created", done.json["id"], 10)
    ]
    assert items[0]["etag"] == etag("large body")
