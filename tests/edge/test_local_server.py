"""End to end: `chalice local` in a subprocess, keys from the admin CLI, real HTTP."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.chalice_local import ChaliceLocal
from support.local_site import make_key
from support.net import ServerUnavailable, unavailable


def _env(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "MEMCACHED_", "FILES_", "QUEUE_", "AWS_LAMBDA"))
    }
    env["DATA_DIR"] = str(data_dir)
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    env = _env(tmp_path_factory.mktemp("local") / "data")
    local = ChaliceLocal(env)
    env["PORT"] = str(local.port)  # the same dict: the server's links name its own port
    try:
        local.start()
    except ServerUnavailable as exc:
        unavailable("chalice local", str(exc))
    yield local.base, env
    local.stop()


def _call(
    method: str,
    url: str,
    key: str | None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    all_headers = dict(headers or {})
    if key:
        all_headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=body, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_crud_round_trip_over_http(server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    key = make_key(env, "acme")
    assert key.startswith("tf_")
    text = {"Content-Type": "text/plain; charset=utf-8"}

    status, headers, body = _call(
        "POST", f"{base}/files?name=hello.txt", key, "Grüße\n".encode(), text
    )
    assert status == 201, body
    meta: dict[str, Any] = json.loads(body)
    assert headers["Location"] == f"/files/{meta['id']}"

    status, headers, body = _call("GET", f"{base}/files/{meta['id']}", key)
    assert (status, body.decode()) == (200, "Grüße\n")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"

    status, _, body = _call(
        "PUT", f"{base}/files/{meta['id']}", key, b"v2", {**text, "If-Match": meta["etag"]}
    )
    assert status == 200
    assert json.loads(body)["version"] == 2
    status, _, _ = _call(
        "PUT", f"{base}/files/{meta['id']}", key, b"v3", {**text, "If-Match": meta["etag"]}
    )
    assert status == 412

    status, _, body = _call("DELETE", f"{base}/files/{meta['id']}", key)
    assert status == 204
    status, _, body = _call("GET", f"{base}/files/{meta['id']}", key)
    assert status == 404
    assert json.loads(body)["Code"] == "NotFound"


def test_bad_bytes_and_bad_keys_over_http(server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    key = make_key(env, "beta")
    text = {"Content-Type": "text/plain"}
    status, _, body = _call("POST", f"{base}/files?name=bad.bin", key, b"\xff\xfe\x00", text)
    assert status == 415
    status, _, _ = _call("GET", f"{base}/files", "tf_not-a-key")
    assert status == 401
    other = make_key(env, "gamma")
    status, _, body = _call("POST", f"{base}/files?name=a.txt", key, b"beta's", text)
    assert status == 201
    status, _, _ = _call("GET", f"{base}/files/{json.loads(body)['id']}", other)
    assert status == 404
