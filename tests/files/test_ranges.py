"""Range, If-Range and HEAD on the bodies the API answers (a file's, a version's, a local
link's), on the embedded drivers and on real PostgreSQL, memcached and S3 (moto)."""

from __future__ import annotations

import urllib.request
from typing import Any
from urllib.parse import urlparse

import pytest

from support.api import Api, Reply

BODY = "0123456789abcdefghij"  # 20 bytes
UNICODE = "ünï\n"  # 6 bytes: ü and ï are two each


def _file(api: Api, body: str | bytes = BODY, name: str = "r.txt") -> dict[str, Any]:
    return api.created(name, body)


def _ranged(api: Api, path: str, value: str, **extra: str) -> Reply:
    return api.get(path, {"range": value, **extra})


@pytest.mark.parametrize(
    ("asked", "content_range", "part"),
    [
        ("bytes=0-4", "bytes 0-4/20", "01234"),
        ("bytes=5-5", "bytes 5-5/20", "5"),
        ("bytes=15-", "bytes 15-19/20", "fghij"),
        ("bytes=-3", "bytes 17-19/20", "hij"),
        ("bytes=18-1000", "bytes 18-19/20", "ij"),  # the last position is clamped
        ("bytes=-500", "bytes 0-19/20", BODY),  # a suffix longer than the body: all of it
        ("Bytes=2-3", "bytes 2-3/20", "23"),  # the unit in any case
        ("bytes=0-19", "bytes 0-19/20", BODY),
    ],
)
def test_one_range_is_206_with_content_range(
    api: Api, asked: str, content_range: str, part: str
) -> None:
    meta = _file(api)
    reply = _ranged(api, f"/files/{meta['id']}", asked)
    assert reply.status == 206, reply.body
    assert reply.headers["Content-Range"] == content_range
    assert reply.text == part
    assert reply.headers["ETag"] == meta["etag"]
    assert reply.headers["Accept-Ranges"] == "bytes"
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    # never compressed on the way: the range counts stored bytes
    assert reply.headers["Content-Encoding"] == "identity"


def test_a_range_addresses_bytes_not_characters(api: Api) -> None:
    meta = _file(api, UNICODE)
    reply = _ranged(api, f"/files/{meta['id']}", "bytes=0-1")
    assert reply.status == 206
    assert reply.body == "ü".encode()
    assert reply.headers["Content-Range"] == "bytes 0-1/6"
    half = _ranged(api, f"/files/{meta['id']}", "bytes=0-0")
    assert half.body == b"\xc3"  # half a character: the bytes as stored


def test_the_whole_body_advertises_ranges_and_varies_with_encoding(api: Api) -> None:
    meta = _file(api)
    reply = api.get(f"/files/{meta['id']}")
    assert reply.status == 200
    assert reply.text == BODY
    assert reply.headers["Accept-Ranges"] == "bytes"
    assert "Content-Range" not in reply.headers
    assert "Accept-Encoding" in reply.headers["Vary"]
    assert "Content-Encoding" not in reply.headers


@pytest.mark.parametrize("asked", ["bytes=20-", "bytes=20-30", "bytes=99-100", "bytes=-0"])
def test_a_range_past_the_end_is_416_with_the_size(api: Api, asked: str) -> None:
    meta = _file(api)
    reply = _ranged(api, f"/files/{meta['id']}", asked)
    assert reply.status == 416, reply.body
    assert reply.headers["Content-Range"] == "bytes */20"
    assert reply.json["Code"] == "RangeNotSatisfiable"
    assert reply.json["size"] == 20
    assert "bytes=0-19" in reply.json["Message"]


def test_an_empty_body_has_no_range_but_a_suffix_reads_it_whole(api: Api) -> None:
    meta = _file(api, b"", "empty.txt")
    refused = _ranged(api, f"/files/{meta['id']}", "bytes=0-")
    assert refused.status == 416
    assert refused.headers["Content-Range"] == "bytes */0"
    whole = _ranged(api, f"/files/{meta['id']}", "bytes=-5")
    assert (whole.status, whole.body) == (200, b"")


@pytest.mark.parametrize(
    "asked",
    [
        "bytes=5-2",  # last before first: invalid
        "bytes=abc",
        "bytes=-",
        "bytes 0-4",
        "items=0-4",  # another unit
        "bytes=0-1,4-5",  # several ranges: answered whole, on purpose
        "bytes=1-2, 30-40",
        "",
    ],
)
def test_an_invalid_or_multiple_range_is_ignored(api: Api, asked: str) -> None:
    meta = _file(api)
    reply = _ranged(api, f"/files/{meta['id']}", asked)
    assert reply.status == 200
    assert reply.text == BODY
    assert "Content-Range" not in reply.headers


def test_a_huge_position_is_past_the_end_never_a_500(api: Api) -> None:
    meta = _file(api)
    assert _ranged(api, f"/files/{meta['id']}", "bytes=" + "9" * 5000 + "-").status == 416
    clamped = _ranged(api, f"/files/{meta['id']}", "bytes=10-" + "9" * 5000)
    assert (clamped.status, clamped.text) == (206, BODY[10:])


def test_if_range_with_the_current_etag_gives_the_range(api: Api) -> None:
    meta = _file(api)
    reply = _ranged(api, f"/files/{meta['id']}", "bytes=0-1", **{"if-range": meta["etag"]})
    assert (reply.status, reply.text) == (206, "01")


def test_if_range_with_a_stale_etag_gives_the_whole_new_body(api: Api) -> None:
    meta = _file(api)
    assert api.put(meta["id"], "a new body, longer than before").status == 200
    reply = _ranged(api, f"/files/{meta['id']}", "bytes=0-1", **{"if-range": meta["etag"]})
    assert reply.status == 200
    assert reply.text == "a new body, longer than before"
    weak = _ranged(api, f"/files/{meta['id']}", "bytes=0-1", **{"if-range": "W/" + meta["etag"]})
    assert weak.status == 200  # a weak tag never passes the strong comparison


def test_if_range_with_a_date(api: Api) -> None:
    meta = _file(api)
    modified = api.get(f"/files/{meta['id']}").headers["Last-Modified"]
    same = _ranged(api, f"/files/{meta['id']}", "bytes=2-3", **{"if-range": modified})
    assert (same.status, same.text) == (206, "23")
    other = "Mon, 01 Jan 2001 00:00:00 GMT"
    older = _ranged(api, f"/files/{meta['id']}", "bytes=2-3", **{"if-range": other})
    assert (older.status, older.text) == (200, BODY)
    junk = _ranged(api, f"/files/{meta['id']}", "bytes=2-3", **{"if-range": "yesterday"})
    assert junk.status == 200


def test_if_range_without_range_and_if_none_match_first(api: Api) -> None:
    meta = _file(api)
    alone = api.get(f"/files/{meta['id']}", {"if-range": meta["etag"]})
    assert (alone.status, alone.text) == (200, BODY)
    current = _ranged(api, f"/files/{meta['id']}", "bytes=0-1", **{"if-none-match": meta["etag"]})
    assert current.status == 304
    assert current.body == b""


def test_a_cached_body_is_ranged_the_same(api: Api) -> None:
    meta = _file(api)
    for _ in range(3):  # the first read fills the cache (memcached on real backends)
        reply = _ranged(api, f"/files/{meta['id']}", "bytes=-4")
        assert (reply.status, reply.text) == (206, "ghij")


def test_head_is_get_without_the_body(api: Api) -> None:
    meta = _file(api, UNICODE, "u.txt")
    got = api.get(f"/files/{meta['id']}")
    head = api.call("HEAD", f"/files/{meta['id']}")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Length"] == "6"
    for name in ("ETag", "Last-Modified", "Cache-Control", "Content-Type", "Accept-Ranges"):
        assert head.headers[name] == got.headers[name], name
    assert "Accept-Encoding" in head.headers["Vary"]


def test_head_honours_if_none_match_ignores_range_and_404s(api: Api, other_api: Api) -> None:
    meta = _file(api)
    path = f"/files/{meta['id']}"
    assert api.call("HEAD", path, headers={"if-none-match": meta["etag"]}).status == 304
    ranged = api.call("HEAD", path, headers={"range": "bytes=0-1"})
    assert ranged.status == 200  # Range is defined for GET only
    assert ranged.headers["Content-Length"] == "20"
    assert "Content-Range" not in ranged.headers
    assert other_api.call("HEAD", path).status == 404
    assert api.call("HEAD", "/files/" + "0" * 32).status == 404
    assert Api(api.client, None).call("HEAD", path).status == 401


def test_head_of_metadata_is_its_length(api: Api) -> None:
    meta = _file(api)
    got = api.get(f"/files/{meta['id']}/metadata")
    head = api.call("HEAD", f"/files/{meta['id']}/metadata")
    assert (head.status, head.body) == (200, b"")
    assert head.headers["Content-Length"] == str(len(got.body))
    assert head.headers["ETag"] == got.headers["ETag"]


def test_a_version_is_ranged_and_headed(api: Api) -> None:
    meta = _file(api, "first body")
    api.put(meta["id"], "second")
    path = f"/files/{meta['id']}/versions/1"
    reply = _ranged(api, path, "bytes=6-")
    assert (reply.status, reply.text) == (206, "body")
    assert reply.headers["Content-Range"] == "bytes 6-9/10"
    assert reply.headers["Cache-Control"].endswith("immutable")
    stale = _ranged(api, path, "bytes=6-", **{"if-range": '"another"'})
    assert (stale.status, stale.text) == (200, "first body")
    assert _ranged(api, path, "bytes=10-").headers["Content-Range"] == "bytes */10"
    head = api.call("HEAD", path)
    assert (head.status, head.body, head.headers["Content-Length"]) == (200, b"", "10")
    assert head.headers["ETag"] == reply.headers["ETag"]
    assert api.call("HEAD", path, headers={"if-none-match": head.headers["ETag"]}).status == 304
    assert api.call("HEAD", f"/files/{meta['id']}/versions/9").status == 404
    metadata = api.call("HEAD", f"{path}/metadata")
    assert metadata.headers["Content-Length"] == str(len(api.get(f"{path}/metadata").body))


def _follow(api: Api, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """GET a link with headers: the app's own /blobs/ route, or S3 (moto) over HTTP."""
    if url.startswith("http://127.0.0.1:8000/"):
        reply = api.client.http.get(urlparse(url).path, headers={"accept": "*/*", **headers})
        return reply.status_code, {k.lower(): v for k, v in reply.headers.items()}, reply.body
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


def test_a_large_body_redirects_and_its_link_answers_the_range(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = _file(api, BODY * 10, "large.txt")
    monkeypatch.setenv("MAX_INLINE_BYTES", "16")
    reply = _ranged(api, f"/files/{meta['id']}", "bytes=10-19")
    assert reply.status == 307  # the redirect stands: the store answers Range itself
    assert reply.headers["ETag"] == meta["etag"]
    status, headers, part = _follow(api, reply.headers["Location"], {"range": "bytes=10-19"})
    assert (status, part) == (206, b"abcdefghij")
    assert headers["content-range"] == "bytes 10-19/200"
    status, _, whole = _follow(api, reply.headers["Location"], {})
    assert (status, whole) == (200, (BODY * 10).encode())
    head = api.call("HEAD", f"/files/{meta['id']}")
    assert (head.status, head.headers["Content-Length"]) == (200, "200")  # never a redirect
    assert "Location" not in head.headers
