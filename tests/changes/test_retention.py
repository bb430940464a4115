"""The feed's retention and the purge's `purged` changes (docs/changes.md), on embedded and
real backends: expired files, expired trash, a name taken from an expired file, changes
removed after the retention, and the 410 that tells a reader to start again."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import FakeClock
from support.api import Api
from support.purge import run_purge

DAY = 86_400


def cursor_at(seq: int) -> str:
    from chalicelib.changes import feed

    return feed.cursor(seq)


def since(api: Api, cursor: str) -> list[dict[str, Any]]:
    reply = api.get(f"/changes?cursor={cursor}")
    assert reply.status == 200, reply.body
    items: list[dict[str, Any]] = reply.json["items"]
    return items


def kept(api: Api) -> list[int]:
    """The numbers of the tenant's changes still kept (the feed from its oldest)."""
    return [c["seq"] for c in api.get("/changes?limit=1000").json["items"]]


def test_an_expired_file_is_purged_in_the_feed_by_the_daily_purge(
    api: Api, clock: FakeClock
) -> None:
    fid = api.created("old.txt", "x")["id"]
    api.rename(fid, "older.txt")
    cursor = api.get("/changes/latest").json["next_cursor"]
    clock.advance(31 * DAY)
    assert api.get(f"/files/{fid}").status == 404  # expired: 404 at once
    assert since(api, cursor) == []  # its purged change comes with the purge
    run_purge()
    (gone,) = since(api, cursor)
    assert (gone["type"], gone["file_id"], gone["name"], gone["version"]) == (
        "purged", fid, "older.txt", 2,
    )  # fmt: skip
    assert (gone["etag"], gone["size"]) == (None, None)
    run_purge()
    assert len(since(api, cursor)) == 1  # once


def test_an_expired_trash_entry_is_purged_in_the_feed(api: Api, clock: FakeClock) -> None:
    fid = api.created("t.txt", "x")["id"]
    api.delete(fid)
    cursor = api.get("/changes/latest").json["next_cursor"]
    clock.advance(31 * DAY)
    run_purge()
    assert [(c["type"], c["file_id"]) for c in since(api, cursor)] == [("purged", fid)]


def test_a_name_taken_from_an_expired_file_purges_it_first(api: Api, clock: FakeClock) -> None:
    old = api.created("n.txt", "old")["id"]
    clock.advance(31 * DAY)
    cursor = api.get("/changes/latest").json["next_cursor"]
    new = api.created("n.txt", "new")["id"]
    assert [(c["type"], c["file_id"]) for c in since(api, cursor)] == [
        ("purged", old),
        ("created", new),
    ]


def test_changes_go_after_the_retention_and_an_old_cursor_is_410(
    api: Api, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PURGE_BATCH", "2")  # several bounded batches
    start = api.get("/changes/latest").json["next_cursor"]
    fid = api.created("keep.txt", "1")["id"]
    for body in "2345":
        api.put(fid, body)
    middle = api.get("/changes/latest").json["next_cursor"]
    clock.advance(20 * DAY)
    api.put(fid, "6")  # seq 6, kept 30 days from now
    clock.advance(11 * DAY)  # 1-5 are 31 days old
    run_purge()
    assert kept(api) == [6]
    for old in (start, cursor_at(2)):
        gone = api.get(f"/changes?cursor={old}")
        assert gone.status == 410, gone.body
        assert gone.json["Code"] == "Gone"
        assert "GET /files" in gone.json["Message"]
        assert "/changes/latest" in gone.json["Message"]
    # The cursor after 5 still reads: its next change, 6, is kept.
    assert [c["seq"] for c in since(api, middle)] == [6]
    page = api.get("/changes").json  # no cursor: from the oldest kept
    assert [c["seq"] for c in page["items"]] == [6]
    assert api.get("/changes/latest").json["next_cursor"] == page["next_cursor"]


def test_a_cursor_whose_changes_were_all_purged_is_410(api: Api, clock: FakeClock) -> None:
    start = api.get("/changes/latest").json["next_cursor"]
    api.created("a.txt", "x")
    api.call("DELETE", "/files/" + api.get("/files").json["items"][0]["id"])
    clock.advance(31 * DAY)
    run_purge()
    assert kept(api) == [3]  # the trash entry's purge, made now
    assert api.get(f"/changes?cursor={start}").status == 410
    head = api.get("/changes").json
    assert [c["type"] for c in head["items"]] == ["purged"]
    assert api.get(f"/changes?cursor={head['next_cursor']}").json["items"] == []


def test_a_reader_at_the_head_stays_valid_after_the_retention(api: Api, clock: FakeClock) -> None:
    api.created("quiet.txt", "x")
    api.delete(api.get("/files").json["items"][0]["id"])
    clock.advance(31 * DAY)
    run_purge()
    head = api.get("/changes/latest").json["next_cursor"]
    clock.advance(31 * DAY)
    run_purge()
    assert kept(api) == []
    assert api.get(f"/changes?cursor={head}").json == {"items": [], "next_cursor": head}
