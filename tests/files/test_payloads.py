"""Every accepted body reads back byte for byte through API Gateway + Lambda (issue #10, 7, 12).

The events are built as API Gateway builds a REST proxy event for a binary body (base64,
isBase64Encoded) with the request line and headers at API Gateway's 10,240-byte cap, and the
handler's answer is serialised as the Python runtime does (json.dumps, ensure_ascii): both
must stay under Lambda's payload limits, for the worst bodies at each inline limit.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from test_uploads import _put, fetch

EVENT_LIMIT = 6_291_456
RESPONSE_LIMIT = 6_291_556
HEADER_CAP = 10_240  # API Gateway (REST): request line + header values, in bytes
CONTROL = bytes(b for b in range(1, 32))


def worst_body(kind: str, size: int) -> bytes:
    """`size` bytes of plaintext whose JSON string form is as large as it gets."""
    unit = {"cjk": "漢字".encode(), "lines": b"\n", "control": CONTROL}[kind]
    body = unit * (size // len(unit))
    return body + b"a" * (size - len(body))


def rest_event(
    method: str,
    resource: str,
    key: str,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A REST (v1) proxy event as API Gateway sends it, every media type being binary."""
    path = resource
    for name, value in (path_parameters or {}).items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    line = f"{method} {path}?{'&'.join(f'{k}={quote(v)}' for k, v in (query or {}).items())}"
    sent = {
        "Accept": "*/*",
        "Authorization": f"Bearer {key}",
        "CloudFront-Forwarded-Proto": "https",
        "CloudFront-Viewer-Country": "DE",
        "Host": "abcdef1234.execute-api.eu-west-1.amazonaws.com",
        "User-Agent": "curl/8.5.0",
        "Via": "2.0 0123456789abcdef0123456789abcdef.cloudfront.net (CloudFront)",
        "X-Amz-Cf-Id": "x" * 56,
        "X-Amzn-Trace-Id": "Root=1-67891233-abcdef012345678912345678",
        "X-Forwarded-For": "203.0.113.9, 198.51.100.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        **(headers or {}),
    }
    if body is not None:
        sent.setdefault("Content-Type", "text/plain; charset=utf-8")
    used = len(line) + sum(len(v) for v in sent.values())
    sent["X-Padding"] = '"\\' * ((HEADER_CAP - used) // 2)  # what JSON escapes the most
    identity = dict.fromkeys(("accessKey", "accountId", "caller", "cognitoIdentityId", "user"))
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": sent,
        "multiValueHeaders": {name: [value] for name, value in sent.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTime": "23/Nov/2026:22:00:00 +0000",
            "path": f"/prod{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": "abcdef1234",
            "requestTimeEpoch": 1795471200000,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {**identity, "sourceIp": "203.0.113.9", "userAgent": sent["User-Agent"]},
            "domainName": sent["Host"],
            "apiId": "abcdef1234",
        },
        "body": None if body is None else base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": body is not None,
    }


class Reply:
    def __init__(self, wire: str) -> None:
        self.wire_size = len(wire.encode())
        answer = json.loads(wire)
        self.status: int = answer["statusCode"]
        self.headers: dict[str, str] = answer["headers"]
        raw = answer["body"] or ""
        self.body = base64.b64decode(raw) if answer.get("isBase64Encoded") else raw.encode()


def invoke(event: dict[str, Any]) -> Reply:
    """The handler run as Lambda runs it: the event's size checked, the answer serialised."""
    from chalice.local import LambdaContext

    from app import app

    wire = json.dumps(event)
    assert len(wire.encode()) < EVENT_LIMIT, f"event of {len(wire.encode())} bytes"
    answer = app(json.loads(wire), LambdaContext("api_handler", 1024))
    reply = Reply(json.dumps(answer))
    assert reply.wire_size < RESPONSE_LIMIT, f"response of {reply.wire_size} bytes"
    return reply


def create(key: str, name: str, body: bytes) -> Reply:
    return invoke(rest_event("POST", "/files", key, query={"name": name}, body=body))


def read(key: str, file_id: str, headers: dict[str, str] | None = None) -> Reply:
    params = {"file_id": file_id}
    return invoke(rest_event("GET", "/files/{file_id}", key, params, headers=headers))


@pytest.mark.parametrize("kind", ["cjk", "lines", "control"])
@pytest.mark.parametrize("setting", ["default", "ceiling"])
def test_worst_bodies_at_the_inline_limit_round_trip_through_lambda(
    kind: str,
    setting: str,
    embedded_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib import config
    from chalicelib.tenants import apikeys

    if setting == "ceiling":
        monkeypatch.setenv("MAX_INLINE_BYTES", str(10**9))  # capped at what fits
    limit = config.max_inline_bytes()
    key = apikeys.create_key(f"payload-{kind}")
    body = worst_body(kind, limit)
    created = create(key, f"{kind}.txt", body)
    assert created.status == 201, created.body[:300]
    meta = json.loads(created.body)
    got = read(key, meta["id"])
    assert (got.status, got.headers["Content-Type"]) == (200, "text/plain; charset=utf-8")
    assert got.body == body
    assert create(key, f"{kind}-over.txt", body + b"a").status == 413
    assert limit == (4 * 1024 * 1024 if setting == "default" else 4_620_288)


def test_invalid_utf8_is_checked_exactly_and_text_kept_byte_for_byte(
    embedded_env: Path,
) -> None:
    from chalice.deploy.swagger import CFNSwaggerGenerator

    from app import app
    from chalicelib.tenants import apikeys

    # What API Gateway is told: every body travels base64, whatever its media type.
    swagger = CFNSwaggerGenerator().generate_swagger(app)
    assert swagger["x-amazon-apigateway-binary-media-types"] == ["*/*"]
    key = apikeys.create_key("payload-exact")
    assert create(key, "bad.txt", b"caf\xc3").status == 415
    assert create(key, "surrogate.txt", b"\xed\xa0\x80").status == 415
    body = "crlf\r\nemoji 🙂 bom \ufeff nbsp\u00a0 tab\t\x7f\n".encode()
    created = create(key, "exact.txt", body)
    assert created.status == 201
    assert read(key, json.loads(created.body)["id"]).body == body


def test_a_body_too_large_to_answer_inline_is_a_redirect(
    api: Any, backend: str, new_key: Callable[[str | None], str]
) -> None:
    """An upload larger than any Lambda response: 307 to a short-lived link, 304 first."""
    from chalicelib import config

    body = worst_body("cjk", config.max_inline_bytes() + 1)
    upload = api.call("POST", f"/files/uploads?name=big.txt&size={len(body)}").json
    assert _put(api, upload, body) == 200
    meta = api.call("POST", upload["complete_url"]).json
    got = read(api.key, meta["id"])
    assert got.status == 307
    assert got.headers["ETag"] == meta["etag"]
    assert got.headers["Cache-Control"] == "private, no-store"
    status, headers, fetched = fetch(api, got.headers["Location"])
    assert (status, fetched) == (200, body)
    assert headers["content-type"].startswith("text/plain")
    fresh = read(api.key, meta["id"], {"If-None-Match": meta["etag"]})
    assert (fresh.status, "Location" in fresh.headers) == (304, False)
    assert api.get(f"/files/{meta['id']}").status == 307  # chalice.test.Client sees the same


_notes: list[Callable[[Any], None]] = []  # while a test watches: what records a write
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _notes:
        return
    note = _notes[0]
    if event == "open" and len(args) == 3:
        path, mode, flags = args
        if (mode and any(c in str(mode) for c in "wax+")) or int(flags or 0) & _WRITE_FLAGS:
            note(path)
    elif event in ("os.mkdir", "os.remove", "os.rmdir", "os.truncate", "os.chmod"):
        note(args[0])
    elif event in ("os.rename", "os.link", "os.symlink"):
        note(args[1])


@pytest.fixture
def disk_writes() -> Iterator[list[str]]:
    """Paths opened for writing (or created, renamed, removed) outside the temporary folder."""
    found: list[str] = []
    allowed = os.path.realpath(tempfile.gettempdir())

    def note(path: Any) -> None:
        if isinstance(path, (str, bytes, os.PathLike)):
            full = os.path.realpath(os.fsdecode(path))
            if not full.startswith(allowed + os.sep) and not full.startswith("/dev/"):
                found.append(full)

    _notes.append(note)
    yield found
    _notes.clear()


sys.addaudithook(_audit)


@pytest.mark.parametrize("backend", ["real"], indirect=True)  # the S3 deployment
def test_with_s3_the_local_blob_routes_do_not_exist_and_nothing_is_written(
    api: Any,
    backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    disk_writes: list[str],
) -> None:
    """Issue #10, 12: checking a /blobs token wrote a key file into the read-only task folder."""
    monkeypatch.delenv("DATA_DIR")
    monkeypatch.chdir(tmp_path)  # stands for /var/task; nothing may appear in it
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "textfiles-prod")
    token = "eyJwdXQiOiJ0ZW5hbnRzL3gifQ.AAAA"
    assert api.client.http.put(f"/blobs/{token}", body=b"x").status_code == 404
    assert api.client.http.get(f"/blobs/{token}").status_code == 404
    meta = api.created("round-trip.txt", "written to S3 only")
    assert api.get(f"/files/{meta['id']}").body == b"written to S3 only"
    upload = api.call("POST", "/files/uploads?name=up.txt&size=3").json
    assert upload["url"].startswith("http://127.0.0.1:") and "X-Amz-Signature" in upload["url"]
    assert api.delete(meta["id"]).status == 204
    from chalicelib import config
    from chalicelib.blobs import link_tokens

    with pytest.raises(config.MissingSetting):  # no key file is ever made inside Lambda
        link_tokens.sign({"get": "tenants/x"}, 60)
    assert list(tmp_path.iterdir()) == []
    assert disk_writes == []
