"""The blob port's types, shared by its users and its drivers (a leaf: it imports no driver)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple, Protocol


class BlobMissing(Exception):
    """No object under that key."""


class BlobInfo(NamedTuple):
    key: str
    size: int
    modified_us: int


class PresignedUpload(NamedTuple):
    url: str
    method: str
    headers: dict[str, str]


class BlobStore(Protocol):
    name: str

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str, max_bytes: int | None = None) -> bytes: ...

    def head(self, key: str) -> BlobInfo: ...

    def chunks(self, key: str, size: int) -> Iterator[bytes]:
        """The object's bytes, read in order `size` bytes at a time (the last chunk may be
        shorter): one chunk in memory at once, whatever the object's size (BlobMissing: none)."""
        ...

    def copy(self, source: str, key: str) -> None:
        """A new object `key` with the bytes of `source`, made inside the store (BlobMissing:
        no `source`)."""
        ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str) -> Iterator[BlobInfo]: ...

    def upload_url(self, key: str, expires_s: int, size: int) -> PresignedUpload:
        """A link that stores exactly `size` bytes under `key` (the length is part of what is
        signed), until it expires."""
        ...

    def download_url(self, key: str, expires_s: int, filename: str) -> str: ...

    def read_url(self, key: str, expires_s: int) -> str:
        """A short-lived link that reads the object as text/plain (a body too large to answer
        inline)."""
        ...

    def ping(self) -> None: ...

    # Multipart writes (exports) and paged listing (the purge); see docs/tasks.md.
    min_part_bytes: int

    def list_page(self, prefix: str, after: str, limit: int) -> Sequence[BlobInfo]:
        """Up to `limit` objects under `prefix` whose keys sort after `after`, in key order."""
        ...

    def start_multipart(self, key: str, content_type: str) -> str:
        """A new multipart upload's id; nothing is visible under `key` until completed."""
        ...

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        """Store part `number` (1-based; a re-upload replaces it); returns its ETag."""
        ...

    def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]
    ) -> None:
        """Join the parts, in order, into the object `key` (raises BlobMissing if unknown)."""
        ...

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop an unfinished upload and its parts; an unknown upload is not an error."""
        ...
