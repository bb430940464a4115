"""`make run`'s server (tools/local_server.py) over real HTTP: it compresses as API Gateway
does (the minimum size in .chalice/config.json), never a 206, and answers HEAD with GET's
headers and no body."""

from __future__ import annotations

import gzip
import http.client
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.chalice_local import ChaliceLocal
from support.local_site import make_key
from support.net import ServerUnavailable, unavailable

ROOT = Path(__file__).resolve().parents[2]
MINIMUM = json.loads((ROOT / ".chalice" / "config.json").read_text())["minimum_compression_size"]
TEXT = ("All work and no play makes a dull text file.\n" * 3000).encode()  # 132 kB


class Site:
    def __init__(self, local: ChaliceLocal, key: str) -> None:
        self.local = local
        self.key = key

    def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.local.port, timeout=10)
        try:
            sent = {"Authorization": f"Bearer {self.key}", **(headers or {})}
            connection.request(method, path, body=body or None, headers=sent)
            reply = connection.getresponse()
            return reply.status, dict(reply.getheaders()), reply.read()
        finally:
            connection.close()

    def create(self, name: str, body: bytes) -> dict[str, Any]:
        status, _, raw = self.call(
            "POST", f"/files?name={name}", {"Content-Type": "text/plain"}, body
        )
        assert status == 201, raw
        meta: dict[str, Any] = json.loads(raw)
        return meta


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    import os

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "MEMCACHED_", "FILES_", "QUEUE_", "AWS_LAMBDA"))
    }
    env["DATA_DIR"] = str(tmp_path_factory.mktemp("gzip") / "data")
    local = ChaliceLocal(env)
    env["PORT"] = str(local.port)
    try:
        local.start()
    except ServerUnavailable as exc:
        unavailable("the local server", str(exc))
    yield Site(local, make_key(env, "gzip"))
    local.stop()


def test_a_large_body_is_gzipped_for_a_client_that_accepts_it(site: Site) -> None:
    meta = site.create("big.txt", TEXT)
    status, headers, raw = site.call("GET", f"/files/{meta['id']}", {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert int(headers["Content-Length"]) == len(raw) < len(TEXT) // 10
    assert gzip.decompress(raw) == TEXT
    assert "Accept-Encoding" in headers["Vary"]
    assert headers["ETag"] == meta["etag"]  # the validator of the body, however it travels


def test_no_accept_encoding_or_an_unsupported_first_choice_is_sent_as_is(site: Site) -> None:
    meta = site.create("plain.txt", TEXT)
    for accept in (None, "identity", "br, gzip", "gzip;q=0", "*"):
        headers = {"Accept-Encoding": accept} if accept else {}
        status, answer, raw = site.call("GET", f"/files/{meta['id']}", headers)
        assert status == 200
        assert "Content-Encoding" not in answer, accept
        assert raw == TEXT
        assert answer["Content-Length"] == str(len(TEXT))


def test_deflate_first_is_deflated(site: Site) -> None:
    meta = site.create("deflate.txt", TEXT)
    accept = {"Accept-Encoding": "deflate, gzip, br"}  # what curl --compressed sends
    status, headers, raw = site.call("GET", f"/files/{meta['id']}", accept)
    assert (status, headers["Content-Encoding"]) == (200, "deflate")
    assert zlib.decompress(raw) == TEXT


def test_a_body_under_the_minimum_is_not_compressed(site: Site) -> None:
    small = b"x" * (MINIMUM - 1)
    meta = site.create("small.txt", small)
    status, headers, raw = site.call("GET", f"/files/{meta['id']}", {"Accept-Encoding": "gzip"})
    assert (status, raw) == (200, small)
    assert "Content-Encoding" not in headers


def test_a_large_list_is_gzipped_too(site: Site) -> None:
    for n in range(30):
        site.create(f"list-{n:03d}.txt", b"x")
    status, headers, raw = site.call("GET", "/files?limit=1000", {"Accept-Encoding": "gzip"})
    assert (status, headers["Content-Encoding"]) == (200, "gzip")
    assert len(json.loads(gzip.decompress(raw))["items"]) >= 30


def test_a_range_is_never_compressed_and_counts_stored_bytes(site: Site) -> None:
    meta = site.create("ranged.txt", TEXT)
    asked = {"Accept-Encoding": "gzip", "Range": "bytes=100-4099"}
    status, headers, raw = site.call("GET", f"/files/{meta['id']}", asked)
    assert status == 206
    assert headers["Content-Encoding"] == "identity"
    assert headers["Content-Range"] == f"bytes 100-4099/{len(TEXT)}"
    assert headers["Content-Length"] == "4000"
    assert raw == TEXT[100:4100]
    status, headers, raw = site.call("GET", f"/files/{meta['id']}", {"Range": "bytes=999999-"})
    assert (status, headers["Content-Range"]) == (416, f"bytes */{len(TEXT)}")
    assert json.loads(raw)["Code"] == "RangeNotSatisfiable"


def test_head_sends_gets_headers_and_no_body(site: Site) -> None:
    meta = site.create("head.txt", TEXT)
    connection = http.client.HTTPConnection("127.0.0.1", site.local.port, timeout=10)
    auth = {"Authorization": f"Bearer {site.key}", "Accept-Encoding": "gzip"}
    try:
        connection.request("HEAD", f"/files/{meta['id']}", headers=auth)
        head = connection.getresponse()
        head.read()
        assert head.status == 200
        assert head.getheader("Content-Length") == str(len(TEXT))
        assert head.getheader("Accept-Ranges") == "bytes"
        assert head.getheader("ETag") == meta["etag"]
        assert len(head.msg.get_all("Content-Length") or []) == 1
        # Had the HEAD answer carried a body, this second answer on the same connection
        # would be read from the middle of it.
        connection.request("GET", f"/files/{meta['id']}/metadata", headers=auth)
        after = connection.getresponse()
        assert after.status == 200
        assert json.loads(after.read())["id"] == meta["id"]
    finally:
        connection.close()
