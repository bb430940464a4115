"""Validation that streams: an uploaded body, first copied inside the store from the staging
object (its link may still write it) to the file's fresh key (nothing else writes it), is
checked there (UTF-8, no NUL byte) and hashed one chunk at a time (docs/bench.md, row 10)."""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from chalicelib import config
from chalicelib.blobs import BlobMissing, blobs
from chalicelib.errors import Conflict, NotPlaintext, TooLarge
from chalicelib.files import orphans
from chalicelib.files.writes import Described

CHUNK_BYTES = 1024 * 1024  # what one read holds; its decoded text holds at most 4 times that


def _too_large(size: int, limit: int) -> TooLarge:
    return TooLarge(f"The upload is {size} bytes; this upload takes at most {limit}.", limit=limit)


def check(key: str, limit: int) -> Described:
    """The stored body `key`, read once in chunks: its size, sha256 and searched words, or
    TooLarge / NotPlaintext at the first chunk that shows it."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    digest, head, size = hashlib.sha256(), bytearray(), 0
    wanted = config.search_index_bytes()
    for chunk in blobs().chunks(key, CHUNK_BYTES):
        if size + len(chunk) > limit:
            raise _too_large(size + len(chunk), limit)
        if (nul := chunk.find(b"\x00")) >= 0:
            at = size + nul
            raise NotPlaintext(f"The body is not plaintext: it contains a NUL byte (byte {at}).")
        _decode(decoder, chunk, size)
        digest.update(chunk)
        head += chunk[: max(0, wanted - len(head))]
        size += len(chunk)
    _decode(decoder, b"", size, final=True)
    return Described(size, digest.hexdigest(), head.decode("utf-8", "ignore"))


def _decode(decoder: codecs.IncrementalDecoder, chunk: bytes, at: int, final: bool = False) -> None:
    """Feed `chunk` (starting at byte `at` of the body) to the strict decoder; a character split
    between two chunks waits in the decoder for the next."""
    pending = len(decoder.getstate()[0])
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError as exc:
        where = at - pending + exc.start
        raise NotPlaintext(f"The body is not valid UTF-8 (byte {where}).") from exc


@contextmanager
def filed(staging: str, key: str, limit: int) -> Iterator[Described]:
    """Like orphans.new_body, for an uploaded body: copied from `staging` to the fresh `key`,
    then checked there."""
    store = blobs()
    try:
        if (size := store.head(staging).size) > limit:
            raise _too_large(size, limit)
        store.copy(staging, key)
    except BlobMissing as exc:
        raise Conflict("The upload has no body yet: PUT it to the upload URL first.") from exc
    with orphans.guarded(key):
        yield check(key, limit)
