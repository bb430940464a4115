"""Large bodies: presigned upload, completion, validation; S3 via moto and the local folder."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from conftest import LOCAL_STAGE, FakeClock
from support.api import Api
from support.threads import join_threads


def _put(api: Api, upload: dict[str, Any], body: bytes) -> int:
    """PUT the body where the upload says: S3 (moto) over HTTP, or the app's local route."""
    url = upload["url"]
    if url.startswith("http://127.0.0.1:8000/"):
        path = urlparse(url).path
        reply = api.client.http.put(path, headers=upload["headers"], body=body)
        return int(reply.status_code)
    request = urllib.request.Request(url, data=body, method="PUT", headers=upload["headers"])
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def fetch(api: Api, url: str) -> tuple[int, dict[str, str], bytes]:
    """GET a link the API handed out: the app's own /blobs/ route, or S3 (moto) over HTTP.
    Header names come back in lower case."""
    if url.startswith("http://127.0.0.1:8000/"):
        reply = api.client.http.get(urlparse(url).path, headers={"accept": "*/*"})
        return int(reply.status_code), _lower(reply.headers), reply.body
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(response.status), _lower(dict(response.headers)), response.read()


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def read_body(api: Api, file_id: str) -> bytes:
    """A file's body as a client sees it, following the redirect of a large one."""
    reply = api.get(f"/files/{file_id}")
    if reply.status == 307:
        status, _, body = fetch(api, reply.headers["Location"])
        assert status == 200
        return body
    assert reply.status == 200, reply.body
    return reply.body


def _start(api: Api, name: str, size: int | str = 4) -> dict[str, Any]:
    reply = api.call("POST", f"/files/uploads?name={name}&size={size}")
    assert reply.status == 201, reply.body
    upload: dict[str, Any] = reply.json
    return upload


def test_upload_flow_creates_the_file(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_INLINE_BYTES", "16")
    body = ("line of text\n" * 100).encode()
    upload = _start(api, "big.txt", len(body))
    assert upload["method"] == "PUT"
    assert upload["complete_url"] == f"/files/uploads/{upload['upload_id']}/complete"
    if backend == "real":
        assert "X-Amz-Signature=" in upload["url"]
    early = api.call("POST", upload["complete_url"])
    assert early.status == 409
    assert "no body yet" in early.json["Message"]
    assert _put(api, upload, body) == 200
    done = api.call("POST", upload["complete_url"])
    assert done.status == 201
    meta = done.json
    assert meta["name"] == "big.txt"
    assert meta["size"] == len(body)
    assert done.headers["Location"] == f"/files/{meta['id']}"
    assert read_body(api, meta["id"]) == body
    again = api.call("POST", upload["complete_url"])
    assert again.status == 200
    assert again.json["id"] == meta["id"]
    assert [m["id"] for m in api.get("/files").json["items"]] == [meta["id"]]


def test_uploaded_non_plaintext_is_415_and_not_filed(api: Api, backend: str) -> None:
    upload = _start(api, "bad.txt", 8)
    assert _put(api, upload, b"\x00\x01binary") == 200
    reply = api.call("POST", upload["complete_url"])
    assert reply.status == 415
    assert api.get("/files").json["items"] == []


def test_upload_over_the_upload_limit_is_413(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "10")
    assert api.call("POST", "/files/uploads?name=huge.txt&size=11").status == 413
    assert api.call("POST", "/files/uploads?name=huge.txt").status == 400
    assert api.call("POST", "/files/uploads?name=huge.txt&size=-1").status == 400
    assert api.call("POST", "/files/uploads?name=huge.txt&size=%C2%B2").status == 400
    upload = _start(api, "huge.txt", 10)
    assert _put(api, upload, b"x" * 10) == 200
    assert api.call("POST", upload["complete_url"]).status == 201
    assert api.get("/files").json["items"][0]["size"] == 10


def test_upload_name_rules(api: Api, other_api: Api, backend: str) -> None:
    api.created("taken.txt")
    assert api.call("POST", "/files/uploads?name=taken.txt&size=1").status == 409
    assert api.call("POST", "/files/uploads?name=a/b&size=1").status == 400
    assert api.call("POST", "/files/uploads?size=1").status == 400
    upload = _start(api, "mine.txt")
    assert other_api.call("POST", upload["complete_url"]).status == 404
    assert Api(api.client, None).call("POST", "/files/uploads?name=x&size=1").status == 401


def test_forged_local_link_is_refused(embedded_env: Any) -> None:
    """Only the folder driver has its own signed links (S3 checks its own signatures)."""
    from chalice.test import Client

    from app import app
    from chalicelib.tenants import apikeys

    with Client(app, stage_name=LOCAL_STAGE) as client:
        api = Api(client, apikeys.create_key("forger"))
        upload = _start(api, "x.txt")
        path = urlparse(upload["url"]).path
        forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
        assert client.http.put(forged, body=b"x").status_code == 403
        assert client.http.get(path).status_code == 403
        assert _put(api, upload, b"fine") == 200
        assert client.http.put(path, body=b"longer").status_code == 413
        assert client.http.put(path, body=b"abc").status_code == 400


def test_a_completed_upload_cannot_be_changed_through_its_link(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #10, 1: another PUT to the link after completion used to replace the live body."""
    monkeypatch.setenv("MAX_INLINE_BYTES", "16")
    monkeypatch.setenv("CACHE_BODY_MAX_BYTES", "0")  # every read goes to the stored object
    body = "первая версия\n".encode() * 8
    upload = _start(api, "kept.txt", len(body))
    assert _put(api, upload, body) == 200
    done = api.call("POST", upload["complete_url"])
    assert done.status == 201
    meta = done.json
    assert _put(api, upload, b"\xff" * len(body)) == 200  # the link is still valid: no matter
    assert read_body(api, meta["id"]) == body
    assert api.get(f"/files/{meta['id']}/metadata").json == meta
    again = api.call("POST", upload["complete_url"])
    assert (again.status, again.json) == (200, meta)
    assert read_body(api, meta["id"]) == body


def test_the_link_is_signed_for_the_declared_size(api: Api, backend: str) -> None:
    """Issue #10, 1: the S3 link signed only content-type;host and stored any size."""
    upload = _start(api, "sized.txt", 5)
    assert upload["size"] == 5
    assert upload["headers"]["Content-Length"] == "5"
    if backend == "real":
        signed = parse_qs(urlparse(upload["url"]).query)["X-Amz-SignedHeaders"][0]
        assert signed.split(";") == ["content-length", "content-type", "host"]
        return
    path = urlparse(upload["url"]).path
    assert api.client.http.put(path, body=b"x" * 6).status_code == 413
    assert api.client.http.put(path, body=b"x" * 4).status_code == 400
    assert api.client.http.put(path, body=b"x" * 5).status_code == 200


def test_pending_uploads_count_against_the_byte_quota(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    """Issue #10, 1: bytes held by uploads not yet completed were counted nowhere. Issue #22,
    4: nor were those its link stores after completion, while the link lives."""
    monkeypatch.setenv("QUOTA_MAX_BYTES", "1000")
    first = _start(api, "first.txt", 600)
    over = api.call("POST", "/files/uploads?name=second.txt&size=600")
    assert (over.status, over.json["quota"], over.json["used"]) == (403, "bytes", 600)
    assert api.create("inline.txt", b"y" * 401).status == 403
    assert api.create("inline.txt", b"y" * 400).status == 201  # 600 reserved + 400 = the quota
    assert _put(api, first, b"z" * 600) == 200
    assert api.call("POST", first["complete_url"]).status == 201  # its bytes were reserved
    assert api.call("POST", "/files/uploads?name=third.txt&size=1").status == 403
    file_id = next(m["id"] for m in api.get("/files").json["items"] if m["name"] == "inline.txt")
    assert api.delete(file_id).status == 204
    # the file (600), the trashed one (400) and what the still valid link may store again (600)
    assert api.call("POST", "/files/uploads?name=third.txt&size=400").status == 403
    clock.advance(2 * 900 + 1)  # the link and one lifetime more: its staging object is collected
    # A trashed file's bytes count until it leaves the trash (docs/history.md).
    assert api.call("POST", "/files/uploads?name=third.txt&size=400").status == 403
    assert api.call("DELETE", f"/trash/{file_id}").status == 204
    assert api.call("POST", "/files/uploads?name=third.txt&size=400").status == 201


def test_two_completions_at_once_file_one_intact_body(
    api: Api, backend: str, pause_points: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #10, 2: a retried completion racing the first deleted the body it committed."""
    monkeypatch.setenv("MAX_INLINE_BYTES", "16")
    body = b"retried after a gateway timeout\n" * 4
    upload = _start(api, "raced.txt", len(body))
    assert _put(api, upload, body) == 200
    held = pause_points.arm("uploads.complete.filing")
    first: list[Any] = []
    thread = threading.Thread(target=lambda: first.append(api.call("POST", upload["complete_url"])))
    thread.start()
    assert held.wait_reached(10), "the first completion never reached the pause"
    second = api.call("POST", upload["complete_url"])  # runs to the end while the first waits
    held.release()
    join_threads(thread)
    assert second.status == 201
    assert (first[0].status, first[0].json) == (200, second.json)
    assert [m["id"] for m in api.get("/files").json["items"]] == [second.json["id"]]
    assert read_body(api, second.json["id"]) == body


def test_two_completions_held_together_then_released_file_one_file(
    api: Api, backend: str, pause_points: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #10, 2: both calls past validation, then let go at once: 201 and 200, body kept."""
    monkeypatch.setenv("MAX_INLINE_BYTES", "16")
    monkeypatch.setenv("CACHE_BODY_MAX_BYTES", "0")
    body = "две попытки сразу\n".encode() * 4
    upload = _start(api, "both.txt", len(body))
    assert _put(api, upload, body) == 200
    held = pause_points.arm("uploads.complete.filing", times=2)
    replies: list[Any] = []
    threads = [
        threading.Thread(target=lambda: replies.append(api.call("POST", upload["complete_url"])))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while held.arrivals < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert held.arrivals == 2, "both completions should wait at the pause"
    held.release()
    join_threads(*threads)
    assert sorted(r.status for r in replies) == [200, 201]
    assert replies[0].json == replies[1].json
    assert read_body(api, replies[0].json["id"]) == body


def test_a_size_of_any_length_is_answered_never_a_500(api: Api, backend: str) -> None:
    """Issue #22, 6: 4,301 digits or more passed Python's int-digits limit: a 500."""
    huge = api.call("POST", "/files/uploads?name=huge.txt&size=" + "9" * 5000)
    assert huge.status == 413, huge.body
    assert huge.json["Code"] == "PayloadTooLarge"
    assert len(huge.body) < 500, "the answer does not echo the digits"
    padded = _start(api, "padded.txt", "0" * 5000 + "7")
    assert padded["size"] == 7
