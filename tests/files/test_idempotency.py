"""Idempotency-Key (docs/idempotency.md) on POST /files and the upload routes, on the embedded
drivers and on real PostgreSQL + memcached + S3: a replay answers the first answer again and
creates nothing; another request with the key is 422; one still running is 409."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any
from urllib.parse import urlparse

import pytest

from conftest import FakeClock
from support.api import Api, Reply
from support.threads import join_threads

KEY = {"idempotency-key": "8e03978e-40d5-43e8-bc93-6894a57f9324"}
REPLAYED = "Idempotent-Replayed"


def names(api: Api) -> list[str]:
    return sorted(item["name"] for item in api.get("/files").json["items"])


def keyed(api: Api, name: str, body: str = "hello", key: dict[str, str] = KEY) -> Reply:
    return api.create(name, body, key)


def key_rows(api: Api) -> list[dict[str, Any]]:
    from chalicelib.db import database
    from chalicelib.tenants import apikeys

    tenant = apikeys.lookup(apikeys.hash_key(str(api.key)))
    assert tenant is not None
    sql = "SELECT key_hash, status, response FROM idempotency_keys WHERE tenant_id = :t"
    return database().query(sql, t=tenant.id)


def in_thread(call: Any) -> tuple[Any, list[Reply]]:
    import threading

    replies: list[Reply] = []
    thread = threading.Thread(target=lambda: replies.append(call()))
    thread.start()
    return thread, replies


def test_a_replay_answers_the_first_answer_and_creates_nothing(api: Api) -> None:
    first = keyed(api, "once.txt")
    assert first.status == 201, first.body
    assert REPLAYED not in first.headers
    again = keyed(api, "once.txt")
    assert again.status == 201
    assert again.headers[REPLAYED] == "true"
    assert again.json == first.json
    for name in ("Location", "ETag", "Content-Type"):
        assert again.headers[name] == first.headers[name]
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert names(api) == ["once.txt"]
    assert api.get("/usage").json["files"]["used"] == 1


def test_a_replay_counts_against_no_quota(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTA_MAX_FILES", "1")
    assert keyed(api, "only.txt").status == 201
    again = keyed(api, "only.txt")
    assert (again.status, again.headers[REPLAYED]) == (201, "true")
    assert api.create("other.txt").status == 403  # the quota is full: the replay added nothing


def test_the_same_key_for_another_request_is_422(api: Api) -> None:
    assert keyed(api, "a.txt", "one").status == 201
    for reply in (
        keyed(api, "a.txt", "two"),  # another body
        keyed(api, "b.txt", "one"),  # another query
        api.call("POST", "/files/uploads?name=a.txt&size=9000", headers=KEY),  # another route
    ):
        assert reply.status == 422, reply.body
        assert reply.json["Code"] == "IdempotencyKeyReused"
    assert names(api) == ["a.txt"]


def test_the_same_key_under_another_precondition_is_422(api: Api) -> None:
    source = api.create("a.txt", "one").json
    copy = f"/files/{source['id']}/copy?name=b.txt"
    assert api.call("POST", copy, headers=KEY).status == 201
    stale = api.call("POST", copy, headers={**KEY, "if-match": source["etag"]})
    assert stale.status == 422, stale.body
    assert stale.json["Code"] == "IdempotencyKeyReused"
    assert names(api) == ["a.txt", "b.txt"] or names(api) == ["b.txt", "a.txt"]


def test_keys_are_per_tenant(api: Api, other_api: Api) -> None:
    assert keyed(api, "mine.txt").status == 201
    theirs = keyed(other_api, "mine.txt")
    assert theirs.status == 201 and REPLAYED not in theirs.headers
    assert keyed(other_api, "x.txt").status == 422  # their key now, not ours
    assert names(api) == names(other_api) == ["mine.txt"]


@pytest.mark.parametrize(
    "bad", ["", "   ", '" "', "k" * 256, "clé", "tab\there", "a b", '"' + "k" * 256 + '"']
)
def test_a_key_out_of_bounds_is_400_and_does_nothing(api: Api, bad: str) -> None:
    reply = api.create("bad.txt", "x", {"idempotency-key": bad})
    assert reply.status == 400, reply.body
    assert "Idempotency-Key" in reply.json["Message"]
    assert names(api) == []


def test_a_quoted_key_is_the_same_key(api: Api) -> None:
    """The draft writes the key as a structured-field string: "abc" and abc are one key."""
    assert api.create("q.txt", "x", {"idempotency-key": '"k' + "9" * 254 + '"'}).status == 201
    again = api.create("q.txt", "x", {"idempotency-key": "k" + "9" * 254})
    assert again.headers[REPLAYED] == "true"


def test_a_final_4xx_is_replayed_and_a_retry_later_4xx_is_not(api: Api) -> None:
    refused = api.create("nul.txt", b"a\x00b", KEY)
    assert refused.status == 415
    again = api.create("nul.txt", b"a\x00b", KEY)
    assert (again.status, again.headers[REPLAYED]) == (415, "true")
    assert again.json == refused.json
    # 409 says the same request may succeed later: not kept, the retry runs again.
    taken = api.created("taken.txt")
    other = {"idempotency-key": "second"}
    assert keyed(api, "taken.txt", key=other).status == 409
    assert api.delete(taken["id"]).status == 204
    retried = keyed(api, "taken.txt", key=other)
    assert retried.status == 201 and REPLAYED not in retried.headers


def test_a_replay_after_the_first_answer_was_lost_returns_it(api: Api) -> None:
    """The client saw nothing of the first answer (dropped on the way): it sends the same
    request again and gets what it missed; tests/cli/test_cli_retries.py loses one for real."""
    keyed(api, "lost.txt", "body")  # its answer never reaches the client
    found = keyed(api, "lost.txt", "body")
    assert found.headers[REPLAYED] == "true"
    assert api.get(found.headers["Location"]).text == "body"
    assert [row["status"] for row in key_rows(api)] == [201]


def test_a_duplicate_while_the_first_runs_is_409_then_replayed(api: Api, pause_points: Any) -> None:
    pause = pause_points.arm("idempotency.claimed")
    thread, replies = in_thread(lambda: keyed(api, "slow.txt"))
    assert pause.wait_reached(10)
    busy = keyed(api, "slow.txt")
    assert busy.status == 409
    assert busy.json["Code"] == "IdempotencyKeyInUse"
    assert 1 <= int(busy.headers["Retry-After"]) <= 30
    pause.release()
    join_threads(thread)
    assert replies[0].status == 201
    assert keyed(api, "slow.txt").headers[REPLAYED] == "true"
    assert names(api) == ["slow.txt"]


def test_two_concurrent_requests_with_one_key_make_one_file(api: Api, pause_points: Any) -> None:
    """Both reach the claim before either has claimed: the INSERT decides, exactly one runs."""
    pause = pause_points.arm("idempotency.claiming", times=2)
    first, a = in_thread(lambda: keyed(api, "race.txt"))
    second, b = in_thread(lambda: keyed(api, "race.txt"))
    assert pause.wait_reached(10)
    for _ in range(200):
        if pause.arrivals == 2:
            break
        time.sleep(0.05)
    assert pause.arrivals == 2
    pause.release()
    join_threads(first, second)
    replies = [*a, *b]
    ran = [r for r in replies if r.status == 201 and REPLAYED not in r.headers]
    assert len(ran) == 1
    (other,) = [r for r in replies if r is not ran[0]]
    if other.status == 409:  # still running when it tried, not "the name is taken"
        assert other.json["Code"] == "IdempotencyKeyInUse"
    else:
        assert (other.status, other.headers[REPLAYED]) == (201, "true")
    assert names(api) == ["race.txt"]


def test_a_5xx_is_not_kept_the_retry_runs_again(
    api: Api, pause_points: Any, database_outage: Any
) -> None:
    """The database goes down after the claim: the create is a 503 and the key let go."""
    claimed = pause_points.arm("idempotency.claimed")
    settling = pause_points.arm("idempotency.settling")
    thread, replies = in_thread(lambda: keyed(api, "down.txt"))
    assert claimed.wait_reached(10)
    database_outage.cut()
    claimed.release()
    assert settling.wait_reached(30)
    database_outage.restore()
    settling.release()
    join_threads(thread)
    assert replies[0].status == 503
    assert key_rows(api) == []
    retried = keyed(api, "down.txt")
    assert retried.status == 201 and REPLAYED not in retried.headers
    assert names(api) == ["down.txt"]


def test_a_claim_left_by_a_request_that_died_lapses(
    api: Api, pause_points: Any, database_outage: Any, clock: FakeClock
) -> None:
    """The database is down through the end of the request: its claim cannot be let go and
    stays until the lease ends; meanwhile the retry is told when to come back."""
    claimed = pause_points.arm("idempotency.claimed")
    thread, replies = in_thread(lambda: keyed(api, "died.txt"))
    assert claimed.wait_reached(10)
    database_outage.cut()
    claimed.release()
    join_threads(thread)
    database_outage.restore()
    assert replies[0].status == 503
    assert keyed(api, "died.txt").status == 409
    assert keyed(api, "other.txt").status == 422  # still this key's request only
    clock.advance(31)
    retried = keyed(api, "died.txt")
    assert retried.status == 201 and REPLAYED not in retried.headers
    assert names(api) == ["died.txt"]


def test_a_key_lasts_24_hours_and_the_purge_removes_it(api: Api, clock: FakeClock) -> None:
    from support.purge import run_purge

    assert keyed(api, "day.txt").status == 201
    clock.advance(23 * 3600)
    assert keyed(api, "day.txt").headers[REPLAYED] == "true"
    clock.advance(3600)
    assert keyed(api, "later.txt").status == 201  # a day on, the key is free again
    assert len(key_rows(api)) == 1
    clock.advance(86_400)
    run_purge()
    assert key_rows(api) == []
    assert names(api) == ["day.txt", "later.txt"]


def test_no_key_no_row(api: Api) -> None:
    assert api.create("plain.txt").status == 201
    assert api.create("plain.txt").status == 409
    assert key_rows(api) == []


def test_the_claim_and_the_answer_cost_one_statement_each(api: Api) -> None:
    from chalicelib.db import database

    db = database()
    api.created("warm.txt")
    before = db.statements
    api.created("plain.txt")
    plain = db.statements - before
    before = db.statements
    assert keyed(api, "keyed.txt").status == 201
    assert db.statements - before == plain + 2
    before = db.statements
    assert keyed(api, "keyed.txt").headers[REPLAYED] == "true"
    assert db.statements - before == 2  # the claim that conflicts, the read of the answer


def _put(api: Api, upload: dict[str, Any], body: bytes) -> int:
    """PUT the body where the upload says: S3 (moto) over HTTP, or the app's local route."""
    url = upload["url"]
    if url.startswith("http://127.0.0.1:8000/"):
        reply = api.client.http.put(urlparse(url).path, headers=upload["headers"], body=body)
        return int(reply.status_code)
    request = urllib.request.Request(url, data=body, method="PUT", headers=upload["headers"])
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def test_an_upload_start_and_its_completion_replay(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_INLINE_BYTES", "16")
    start_key = {"idempotency-key": "start-1"}
    path = "/files/uploads?name=big.txt&size=40"
    started = api.call("POST", path, headers=start_key)
    assert started.status == 201, started.body
    again = api.call("POST", path, headers=start_key)
    assert (again.status, again.headers[REPLAYED]) == (201, "true")
    # The same upload, its link signed again: a link is never kept (it may hold a token).
    assert {**again.json, "url": ""} == {**started.json, "url": ""}
    (row,) = key_rows(api)
    assert "url" not in json.loads(json.loads(row["response"])["body"])
    link = urlparse(started.json["url"])  # S3's signature is its query, the folder's its path
    assert (link.query or link.path.rsplit("/", 1)[-1]) not in row["response"]
    assert api.get("/usage").json["bytes"]["used"] == 40  # reserved once
    upload = again.json
    assert _put(api, upload, b"0123456789" * 4) == 200  # the replayed link writes it
    done_key = {"idempotency-key": "done-1"}
    done = api.call("POST", upload["complete_url"], headers=done_key)
    assert done.status == 201, done.body
    replay = api.call("POST", upload["complete_url"], headers=done_key)
    assert (replay.status, replay.headers[REPLAYED]) == (201, "true")
    assert replay.headers["Location"] == done.headers["Location"]
    assert replay.json == done.json
    assert names(api) == ["big.txt"]
