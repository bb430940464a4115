"""Completing an upload validates the body a chunk at a time (UTF-8 across chunk boundaries, NUL
bytes), hashing as it goes, and never reads the whole body: on the folder and on S3 (moto)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from test_uploads import _put, _start, read_body

from support.api import Api

CHUNK = 4  # bytes per read in these tests (1 MiB in service)


class Reads:
    """What the service read from the store: whole-object gets, and the chunks of each read."""

    def __init__(self) -> None:
        self.gets: list[str] = []
        self.chunks: list[int] = []


@pytest.fixture
def reads(backend: str, monkeypatch: pytest.MonkeyPatch) -> Reads:
    """The real store, its reads recorded on the way through."""
    from chalicelib.blobs import blobs
    from chalicelib.files.uploads import streamed

    monkeypatch.setattr(streamed, "CHUNK_BYTES", CHUNK)
    monkeypatch.setenv("MAX_INLINE_BYTES", "16")
    store, seen = blobs(), Reads()
    get, chunks = store.get, store.chunks

    def counted_get(key: str, max_bytes: int | None = None) -> bytes:
        seen.gets.append(key)
        return get(key, max_bytes)

    def counted_chunks(key: str, size: int) -> Any:
        for chunk in chunks(key, size):
            seen.chunks.append(len(chunk))
            yield chunk

    monkeypatch.setattr(store, "get", counted_get)
    monkeypatch.setattr(store, "chunks", counted_chunks)
    return seen


def _objects() -> set[str]:
    from chalicelib.blobs import blobs

    return {b.key for b in blobs().list("tenants/")}


def _complete(api: Api, name: str, body: bytes) -> Any:
    upload = _start(api, name, len(body))
    assert _put(api, upload, body) == 200
    return api.call("POST", upload["complete_url"])


def test_a_character_split_between_chunks_is_accepted_and_read_once(api: Api, reads: Reads) -> None:
    body = "abc€ and 😀 — ab😀 end".encode()  # '€' spans bytes 3-5: chunks 1 and 2
    assert body[:CHUNK] == b"abc\xe2"
    done = _complete(api, "split.txt", body)
    assert done.status == 201, done.body
    assert done.json["sha256"] == hashlib.sha256(body).hexdigest()
    assert done.json["size"] == len(body)
    whole, rest = divmod(len(body), CHUNK)
    assert reads.chunks == [CHUNK] * whole + ([rest] if rest else [])
    assert reads.gets == []  # never the whole object
    assert read_body(api, done.json["id"]) == body
    assert api.get("/files?q=end").json["items"][0]["id"] == done.json["id"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"all good until the very end \xe2\x82", "not valid UTF-8 (byte 28)"),
        (b"half of it, then \x00, then more text", "NUL byte (byte 17)"),
        (b"abc\xe2xyz plus", "not valid UTF-8 (byte 3)"),  # a broken character across chunks
    ],
)
def test_a_bad_byte_anywhere_is_refused_and_nothing_is_kept(
    api: Api, reads: Reads, body: bytes, where: str
) -> None:
    before = _objects()
    reply = _complete(api, "bad.txt", body)
    assert reply.status == 415, reply.body
    assert where in reply.json["Message"]
    assert api.get("/files").json["items"] == []
    assert _objects() == before  # the staging object and the copy are both gone
    assert reads.gets == []
    assert sum(reads.chunks) <= len(body)
