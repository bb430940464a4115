"""Replacing a body of any size: POST /files/{id}/uploads, then the upload's completion makes a
new version. On the local folder and SQLite, and on S3 (moto) + PostgreSQL + memcached."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from test_uploads import _put, read_body

from conftest import FakeClock
from support.api import Api
from support.threads import join_threads

UPLOAD_FIELDS = {
    "upload_id",
    "name",
    "size",
    "url",
    "method",
    "headers",
    "max_bytes",
    "expires_at",
    "complete_url",
}


@pytest.fixture(autouse=True)
def _small_inline(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_INLINE_BYTES", "16")


def _objects(file_id: str) -> set[str]:
    """The stored objects of one file: its bodies, and its uploads' staging objects."""
    from chalicelib.blobs import blobs

    return {b.key for b in blobs().list("tenants/") if f"/files/{file_id}/" in b.key}


def _start(api: Api, file_id: str, size: int, if_match: str | None = None) -> dict[str, Any]:
    headers = {} if if_match is None else {"if-match": if_match}
    reply = api.call("POST", f"/files/{file_id}/uploads?size={size}", headers=headers)
    assert reply.status == 201, reply.body
    upload: dict[str, Any] = reply.json
    return upload


def test_a_large_body_replaces_the_file_as_a_new_version(api: Api, backend: str) -> None:
    meta = api.created("big.txt", "first\n")
    body = "a second, larger version ✓\n".encode() * 50
    too_big = api.put(meta["id"], body)
    assert too_big.status == 413
    link = f"/files/{meta['id']}/uploads?size={len(body)}"
    assert too_big.json["upload_url"] == link
    assert f"POST {link}" in too_big.json["Message"]

    upload = _start(api, meta["id"], len(body), meta["etag"])
    assert set(upload) == UPLOAD_FIELDS
    assert (upload["name"], upload["size"], upload["method"]) == ("big.txt", len(body), "PUT")
    assert upload["complete_url"] == f"/files/uploads/{upload['upload_id']}/complete"
    assert _put(api, upload, body) == 200
    assert len(_objects(meta["id"])) == 2  # the first body and the staging object

    done = api.call("POST", upload["complete_url"])
    assert done.status == 200, done.body
    new = done.json
    assert (new["id"], new["name"], new["size"], new["version"]) == (
        meta["id"],
        "big.txt",
        len(body),
        2,
    )
    assert done.headers["ETag"] == new["etag"] != meta["etag"]
    assert done.headers["Location"] == f"/files/{meta['id']}"
    assert read_body(api, meta["id"]) == body
    versions = api.get(f"/files/{meta['id']}/versions").json["items"]
    assert [v["version"] for v in versions] == [2, 1]
    assert api.get(f"/files/{meta['id']}/versions/1").body == b"first\n"
    assert len(_objects(meta["id"])) == 2  # the two versions' bodies; the staging one is gone

    again = api.call("POST", upload["complete_url"])  # a retried completion: no third version
    assert (again.status, again.json) == (200, new)
    assert len(api.get(f"/files/{meta['id']}/versions").json["items"]) == 2


def test_if_match_is_checked_when_the_link_is_made_and_when_it_completes(
    api: Api, backend: str
) -> None:
    meta = api.created("guarded.txt", "v1")
    body = b"x" * 40
    assert (
        api.call("POST", f"/files/{meta['id']}/uploads?size=40", headers={"if-match": '"0"'}).status
        == 412
    )
    weak = {"if-match": f"W/{meta['etag']}"}  # If-Match compares strongly
    assert api.call("POST", f"/files/{meta['id']}/uploads?size=40", headers=weak).status == 412
    upload = _start(api, meta["id"], len(body), meta["etag"])
    assert _put(api, upload, body) == 200
    assert api.put(meta["id"], "v2 meanwhile").status == 200
    stale = api.call("POST", upload["complete_url"])
    assert stale.status == 412, stale.body
    assert stale.json["Code"] == "PreconditionFailed"
    assert read_body(api, meta["id"]) == b"v2 meanwhile"
    assert api.get(f"/files/{meta['id']}/metadata").json["version"] == 2

    unguarded = _start(api, meta["id"], len(body))  # no If-Match: whatever is current
    assert _put(api, unguarded, body) == 200
    assert api.put(meta["id"], "v3 meanwhile").status == 200
    done = api.call("POST", unguarded["complete_url"])
    assert (done.status, done.json["version"]) == (200, 4)
    assert read_body(api, meta["id"]) == body


def test_a_file_deleted_meanwhile_is_404_and_the_staging_object_goes(
    api: Api, backend: str
) -> None:
    meta = api.created("gone.txt", "short")
    body = b"y" * 100
    upload = _start(api, meta["id"], len(body))
    assert _put(api, upload, body) == 200
    before = _objects(meta["id"])
    assert len(before) == 2
    assert api.delete(meta["id"]).status == 204
    reply = api.call("POST", upload["complete_url"])
    assert reply.status == 404, reply.body
    left = _objects(meta["id"])
    assert len(left) == 1 and left < before  # the trashed file's body only
    assert api.call("POST", f"/trash/{meta['id']}/restore").status == 200
    assert read_body(api, meta["id"]) == b"short"


def test_a_body_that_is_not_plaintext_changes_nothing(api: Api, backend: str) -> None:
    meta = api.created("kept.txt", "kept")
    body = b"ok until \x00 a NUL byte"
    upload = _start(api, meta["id"], len(body))
    assert _put(api, upload, body) == 200
    reply = api.call("POST", upload["complete_url"])
    assert reply.status == 415
    assert "NUL byte (byte 9)" in reply.json["Message"]
    assert api.get(f"/files/{meta['id']}/metadata").json == meta
    assert len(_objects(meta["id"])) == 1


def test_bad_requests_are_4xx(
    api: Api, other_api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = api.created("mine.txt", "mine")
    path = f"/files/{meta['id']}/uploads"
    assert api.call("POST", path).status == 400  # no size
    assert api.call("POST", f"{path}?size=abc").status == 400
    assert api.call("POST", "/files/0123456789abcdef0123456789abcdef/uploads?size=5").status == 404
    assert other_api.call("POST", f"{path}?size=5").status == 404
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "10")
    assert api.call("POST", f"{path}?size=11").status == 413
    long = ", ".join([meta["etag"]] * 4)
    assert api.call("POST", f"{path}?size=5", headers={"if-match": long}).status == 400
    upload = _start(api, meta["id"], 5, ", ".join([meta["etag"]] * 3))  # a list that fits
    assert other_api.call("POST", upload["complete_url"]).status == 404
    assert api.call("POST", upload["complete_url"]).status == 409  # no body yet


def test_pending_replace_bytes_are_reserved(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    monkeypatch.setenv("QUOTA_MAX_BYTES", "1000")
    meta = api.created("q.txt", "x" * 10)
    upload = _start(api, meta["id"], 600)
    over = api.call("POST", f"/files/{meta['id']}/uploads?size=400")
    assert (over.status, over.json["quota"], over.json["used"]) == (403, "bytes", 610)
    assert _put(api, upload, b"z" * 600) == 200
    assert api.call("POST", upload["complete_url"]).status == 200  # its bytes were reserved
    assert api.get("/usage").status == 200
    assert api.call("POST", f"/files/{meta['id']}/uploads?size=1").status == 403


def test_two_completions_at_once_make_one_version(
    api: Api, backend: str, pause_points: Any
) -> None:
    meta = api.created("raced.txt", "one")
    body = b"retried after a gateway timeout\n" * 4
    upload = _start(api, meta["id"], len(body), meta["etag"])
    assert _put(api, upload, body) == 200
    held = pause_points.arm("uploads.replace.switching")
    first: list[Any] = []
    thread = threading.Thread(target=lambda: first.append(api.call("POST", upload["complete_url"])))
    thread.start()
    assert held.wait_reached(10), "the first completion never reached the pause"
    second = api.call("POST", upload["complete_url"])
    held.release()
    join_threads(thread)
    assert (second.status, first[0].status) == (200, 200)
    assert first[0].json == second.json
    assert second.json["version"] == 2
    assert [v["version"] for v in api.get(f"/files/{meta['id']}/versions").json["items"]] == [2, 1]
    assert read_body(api, meta["id"]) == body
    assert len(_objects(meta["id"])) == 2
