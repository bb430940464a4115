"""Names in the path over real HTTP, through the server `make run` and `chalice local` serve
(Chalice's local gateway as tools/local_server.py sets it up): a percent-encoded name reaches
the app encoded and is decoded once, a `%2F` stays in its segment (docs/writes.md)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from support.local_site import running

TEXT = {"Content-Type": "text/plain; charset=utf-8"}
Answer = tuple[int, dict[str, str], bytes]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with running(tmp_path_factory.mktemp("names") / "data", None, "names-http") as (base, key):
        yield base, key


def call(
    site: tuple[str, str], method: str, path: str, body: bytes | None = None, **headers: str
) -> Answer:
    base, key = site
    headers = {"Authorization": f"Bearer {key}", **headers}
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.mark.parametrize("name", ["plain.txt", "a b%c?d#e+f.txt", "ünï €.txt", "%2F"])
def test_a_name_round_trips_over_http(site: tuple[str, str], name: str) -> None:
    path = "/names/" + quote(name, safe="")
    status, headers, body = call(site, "PUT", path, b"over http", **TEXT)
    assert status == 201, body
    meta = json.loads(body)
    assert meta["name"] == name
    status, headers, body = call(site, "GET", path)
    assert (status, body) == (200, b"over http")
    assert headers["ETag"] == meta["etag"]
    status, headers, body = call(site, "HEAD", path)
    assert (status, body, headers["ETag"]) == (200, b"", meta["etag"])
    status, _, body = call(site, "PUT", path, b"again", **TEXT, **{"If-None-Match": "*"})
    assert status == 412, body
    assert call(site, "DELETE", path, **{"If-Match": meta["record_etag"]})[0] == 204
    assert call(site, "GET", path)[0] == 404


def test_an_encoded_slash_is_the_name_rules_400_over_http(site: tuple[str, str]) -> None:
    status, _, body = call(site, "PUT", "/names/dir%2Ffile.txt", b"x", **TEXT)
    assert status == 400, body
    assert "'/'" in json.loads(body)["Message"]
    # An unencoded slash is another path, which no route serves.
    assert call(site, "GET", "/names/dir/file.txt")[0] == 404


def test_a_precondition_a_route_cannot_honour_is_400_over_http(site: tuple[str, str]) -> None:
    status, _, body = call(site, "POST", "/files?name=x.txt", b"x", **TEXT, **{"If-Match": "*"})
    assert status == 400, body
    assert "POST /files" in json.loads(body)["Message"]
