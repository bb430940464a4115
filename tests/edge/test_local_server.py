"""End to end: `chalice local` in a subprocess, keys from the admin CLI, real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.chalice_local import ChaliceLocal
from support.local_site import make_key
from support.net import ServerUnavailable, unavailable

ROOT = Path(__file__).resolve().parents[2]


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


def test_an_unknown_route_is_a_404_in_our_shape_and_never_echoes_the_key(
    server: tuple[str, dict[str, str]],
) -> None:
    base, env = server
    key = make_key(env, "lost")
    for method, path in (("GET", "/nothing/here"), ("POST", "/files/x/y/z")):
        status, _, body = _call(method, f"{base}{path}", key)
        assert status == 404, (method, path)
        assert json.loads(body)["Code"] == "NotFound"
        assert key.encode() not in body


def test_a_busy_port_is_one_line_before_any_key_is_made(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "DATA_DIR": str(tmp_path)}
        run = subprocess.run(
            [sys.executable, "-m", "tools.local_server", "--port", str(port)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr == f"port {port} is busy: stop what uses it, or PORT=9000 make run\n"
    assert not (tmp_path / "textfiles.sqlite3").exists()  # no key was made


def test_answers_without_a_body_name_no_body_type(server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    key = make_key(env, "bodiless")
    status, _, _ = _call(
        "POST", f"{base}/files?name=b.txt", key, b"x", {"Content-Type": "text/plain"}
    )
    meta = json.loads(_call("GET", f"{base}/files", key)[2])["items"][0]
    fresh = _call("GET", f"{base}/files/{meta['id']}", key, headers={"If-None-Match": meta["etag"]})
    gone = _call("DELETE", f"{base}/files/{meta['id']}", key)
    assert (status, fresh[0], gone[0]) == (201, 304, 204)
    for answer in (fresh, gone):
        assert "Content-Type" not in answer[1]
        assert answer[1]["X-Request-Id"]
