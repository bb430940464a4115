"""The blob port's promises (chalicelib.blobs.BlobStore), held by every driver.

What the core relies on: bodies read back byte for byte (files, uploads), a missing key is
BlobMissing and never an outage (reads, exports), `modified_us` is wall-clock time (the
purge compares it with its grace period), `list_page` walks keys in order from a cursor
(the purge), multipart uploads appear only when completed (exports), and presigned links
work for a plain HTTP client (uploads, large reads, export downloads).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import pytest

from chalicelib import clock
from chalicelib.blobs import BlobMissing

SECOND_US = 1_000_000


def _fetch(url: str) -> tuple[bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), {k.lower(): v for k, v in response.headers.items()}


def _put(url: str, body: bytes, headers: dict[str, str], method: str = "PUT") -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_the_first_bytes_of_an_empty_body_are_empty(store: Any, prefix: str) -> None:
    """A range of an empty object: S3 answers 416, the port answers no bytes."""
    store.put(f"{prefix}empty.txt", b"")
    assert store.get(f"{prefix}empty.txt", max_bytes=5) == b""
    assert store.get(f"{prefix}empty.txt") == b""


def test_put_get_head_delete(store: Any, prefix: str) -> None:
    key = f"{prefix}body.txt"
    before = clock.now_us()
    store.put(key, b"hello, world")
    after = clock.now_us()
    assert store.get(key) == b"hello, world"
    assert store.get(key, max_bytes=5) == b"hello"
    info = store.head(key)
    assert (info.key, info.size) == (key, 12)
    # Wall-clock microseconds (S3 keeps whole seconds): the purge's grace periods use them.
    assert before - 2 * SECOND_US <= info.modified_us <= after + 2 * SECOND_US

    store.put(key, b"replaced")
    assert store.get(key) == b"replaced"
    assert store.head(key).size == 8

    store.delete(key)
    with pytest.raises(BlobMissing):
        store.get(key)


def test_a_missing_key_is_blob_missing_and_deleting_it_is_no_error(store: Any, prefix: str) -> None:
    key = f"{prefix}never-written"
    with pytest.raises(BlobMissing):
        store.get(key)
    with pytest.raises(BlobMissing):
        store.head(key)
    store.delete(key)
    assert list(store.list(prefix)) == []
    store.ping()


def test_copy_makes_an_independent_object_and_a_missing_source_is_blob_missing(
    store: Any, prefix: str
) -> None:
    """History's restores copy a body inside the store (S3 CopyObject; a file copy locally)."""
    body = "ünï\r\nline\n".encode() * 100
    store.put(f"{prefix}src", body)
    store.copy(f"{prefix}src", f"{prefix}dst")
    assert store.get(f"{prefix}dst") == body
    assert store.head(f"{prefix}dst").size == len(body)
    store.delete(f"{prefix}src")
    assert store.get(f"{prefix}dst") == body
    with pytest.raises(BlobMissing):
        store.copy(f"{prefix}src", f"{prefix}other")
    with pytest.raises(BlobMissing):
        store.head(f"{prefix}other")


def test_chunks_read_an_object_in_order_a_chunk_at_a_time(store: Any, prefix: str) -> None:
    """Completing an upload validates a body this way, never holding all of it."""
    body = "ünï\r\nline ✓\n".encode() * 1000
    store.put(f"{prefix}big", body)
    chunks = list(store.chunks(f"{prefix}big", 4096))
    assert b"".join(chunks) == body
    assert [len(c) for c in chunks[:-1]] == [4096] * (len(body) // 4096)
    store.put(f"{prefix}empty", b"")
    assert b"".join(store.chunks(f"{prefix}empty", 4096)) == b""
    with pytest.raises(BlobMissing):
        list(store.chunks(f"{prefix}never-written", 4096))


def test_bytes_come_back_exactly(store: Any, prefix: str) -> None:
    body = "zéro\r\nnul\tend ✓".encode() + bytes(range(256))
    store.put(f"{prefix}raw", body)
    assert store.get(f"{prefix}raw") == body
    store.put(f"{prefix}empty", b"")
    assert store.get(f"{prefix}empty") == b""
    assert store.head(f"{prefix}empty").size == 0


# S3 orders keys by their bytes: "a-b" before "a/b" ("-" < "/"), a folder's order would not.
KEYS = ["a-b", "a/b", "a/c/d", "b", "c"]


def test_list_page_walks_the_keys_in_order_from_a_cursor(store: Any, prefix: str) -> None:
    for number, name in enumerate(reversed(KEYS)):
        store.put(prefix + name, b"x" * number)
    store.put(prefix.rstrip("/") + "-beside/a", b"not under the prefix")
    wanted = [prefix + name for name in KEYS]

    first = store.list_page(prefix, "", 2)
    assert [b.key for b in first] == wanted[:2]
    second = store.list_page(prefix, first[-1].key, 2)
    assert [b.key for b in second] == wanted[2:4]
    third = store.list_page(prefix, second[-1].key, 2)
    assert [b.key for b in third] == wanted[4:]
    assert list(store.list_page(prefix, third[-1].key, 2)) == []

    sizes = {b.key: b.size for b in store.list_page(prefix, "", 100)}
    assert sizes == {prefix + name: len(KEYS) - 1 - n for n, name in enumerate(KEYS)}
    assert sorted(b.key for b in store.list(prefix)) == wanted
    between = store.list_page(prefix, prefix + "a/bb", 100)
    assert [b.key for b in between] == wanted[2:], "the cursor need not be a stored key"


def test_a_multipart_upload_appears_only_when_complete(store: Any, prefix: str) -> None:
    key = f"{prefix}export.zip"
    upload = store.start_multipart(key, "application/zip")
    first = b"a" * store.min_part_bytes
    store.upload_part(key, upload, 1, b"stale part, uploaded again below")
    etag_1 = store.upload_part(key, upload, 1, first)
    etag_2 = store.upload_part(key, upload, 2, b"the end")
    with pytest.raises(BlobMissing):
        store.head(key)
    store.complete_multipart(key, upload, [(2, etag_2), (1, etag_1)])
    assert store.get(key) == first + b"the end"
    assert store.head(key).size == len(first) + 7


def test_an_aborted_upload_is_gone(store: Any, prefix: str) -> None:
    key = f"{prefix}cancelled.zip"
    upload = store.start_multipart(key, "application/zip")
    etag = store.upload_part(key, upload, 1, b"part")
    store.abort_multipart(key, upload)
    store.abort_multipart(key, upload)  # again: an unknown upload is not an error
    with pytest.raises(BlobMissing):
        store.upload_part(key, upload, 2, b"late")
    with pytest.raises(BlobMissing):
        store.complete_multipart(key, upload, [(1, etag)])
    with pytest.raises(BlobMissing):
        store.head(key)


@pytest.mark.usefixtures("links")
def test_a_presigned_upload_stores_the_body(store: Any, prefix: str) -> None:
    key = f"{prefix}uploaded.txt"
    body = "uploaded by a plain HTTP client ✓\n".encode()
    link = store.upload_url(key, 60, len(body))
    assert link.headers["Content-Length"] == str(len(body))
    assert _put(link.url, body, link.headers, link.method) == 200
    assert store.head(key).size == len(body)
    assert store.get(key) == body


@pytest.mark.usefixtures("links")
def test_a_presigned_upload_takes_only_its_size(store: Any, prefix: str) -> None:
    key = f"{prefix}sized.txt"
    link = store.upload_url(key, 60, 5)
    if store.name == "s3":
        # S3 refuses a body whose length differs from a signed Content-Length; moto checks
        # no signature, so what is checked here is that the length is signed.
        from urllib.parse import parse_qs, urlsplit

        signed = parse_qs(urlsplit(link.url).query)["X-Amz-SignedHeaders"][0].split(";")
        assert "content-length" in signed
        assert link.headers["Content-Length"] == "5"
        return
    for body in (b"x" * 6, b"x" * 4):
        headers = dict(link.headers, **{"Content-Length": str(len(body))})
        assert _put(link.url, body, headers, link.method) in (400, 403, 413)
    with pytest.raises(BlobMissing):
        store.head(key)


@pytest.mark.usefixtures("links")
def test_presigned_links_read_the_body(store: Any, prefix: str) -> None:
    key = f"{prefix}large.txt"
    body = "a body too large to answer inline ✓\n".encode() * 100
    store.put(key, body)

    read, headers = _fetch(store.read_url(key, 60))
    assert read == body
    assert headers["content-type"].startswith("text/plain")
    assert "attachment" not in headers.get("content-disposition", ""), "shown, not saved"

    download, headers = _fetch(store.download_url(key, 60, "export.zip"))
    assert download == body
    assert headers["content-disposition"] == 'attachment; filename="export.zip"'
