"""Large bodies: presigned upload, completion, validation; S3 via moto and the local folder."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlparse

import pytest

from api import Api
from conftest import LOCAL_STAGE


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


def _start(api: Api, name: str) -> dict[str, Any]:
    reply = api.call("POST", f"/files/uploads?name={name}")
    assert reply.status == 201, reply.body
    upload: dict[str, Any] = reply.json
    return upload


def test_upload_flow_creates_the_file(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_INLINE_BYTES", "16")
    body = ("line of text\n" * 100).encode()
    upload = _start(api, "big.txt")
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
    assert api.get(f"/files/{meta['id']}").body == body
    again = api.call("POST", upload["complete_url"])
    assert again.status == 200
    assert again.json["id"] == meta["id"]
    assert [m["id"] for m in api.get("/files").json["items"]] == [meta["id"]]


def test_uploaded_non_plaintext_is_415_and_not_filed(api: Api, backend: str) -> None:
    upload = _start(api, "bad.txt")
    assert _put(api, upload, b"\x00\x01binary") == 200
    reply = api.call("POST", upload["complete_url"])
    assert reply.status == 415
    assert api.get("/files").json["items"] == []


def test_upload_over_the_upload_limit_is_413(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "10")
    upload = _start(api, "huge.txt")
    if backend == "embedded":
        path = urlparse(upload["url"]).path
        assert api.client.http.put(path, body=b"x" * 11).status_code == 413
        return
    assert _put(api, upload, b"x" * 11) == 200
    reply = api.call("POST", upload["complete_url"])
    assert reply.status == 413
    assert api.get("/files").json["items"] == []


def test_upload_name_rules(api: Api, other_api: Api, backend: str) -> None:
    api.created("taken.txt")
    assert api.call("POST", "/files/uploads?name=taken.txt").status == 409
    assert api.call("POST", "/files/uploads?name=a/b").status == 400
    assert api.call("POST", "/files/uploads").status == 400
    upload = _start(api, "mine.txt")
    assert other_api.call("POST", upload["complete_url"]).status == 404
    assert Api(api.client, None).call("POST", "/files/uploads?name=x").status == 401


def test_forged_local_link_is_refused(embedded_env: Any) -> None:
    """Only the folder driver has its own signed links (S3 checks its own signatures)."""
    from chalice.test import Client

    from app import app
    from chalicelib import auth

    with Client(app, stage_name=LOCAL_STAGE) as client:
        api = Api(client, auth.create_key("forger"))
        upload = _start(api, "x.txt")
        path = urlparse(upload["url"]).path
        forged = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
        assert client.http.put(forged, body=b"x").status_code == 403
        assert client.http.get(path).status_code == 403
        assert _put(api, upload, b"fine") == 200
