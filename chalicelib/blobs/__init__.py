"""The blob port: file bodies by key, in S3 or a local folder."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from chalicelib import config
from chalicelib.errors import Forbidden, NotFound, TooLarge


class BlobMissing(Exception):
    """No object under that key."""


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    modified_us: int


@dataclass(frozen=True)
class PresignedUpload:
    url: str
    method: str
    headers: dict[str, str]


class BlobStore(Protocol):
    name: str

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str, max_bytes: int | None = None) -> bytes: ...

    def head(self, key: str) -> BlobInfo: ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str) -> Iterator[BlobInfo]: ...

    def upload_url(self, key: str, expires_s: int, max_bytes: int) -> PresignedUpload: ...

    def download_url(self, key: str, expires_s: int, filename: str) -> str: ...

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


@functools.cache
def blobs() -> BlobStore:
    bucket = config.backend("FILES_BUCKET")
    if bucket:
        from chalicelib.blobs.s3 import S3BlobStore

        return S3BlobStore(bucket)
    from chalicelib.blobs.localfs import LocalBlobStore

    return LocalBlobStore(config.data_dir() / "blobs")


def _local_store() -> BlobStore:
    store = blobs()
    if store.name != "localfs":
        raise NotFound("Uploads and downloads go straight to S3 on this deployment.")
    return store


def local_upload(token: str, data: bytes) -> None:
    """Store a body PUT to a signed local link (the folder driver's presigned URL)."""
    from chalicelib import signing

    payload = signing.verify(token)
    if payload is None or "put" not in payload:
        raise Forbidden("The upload link is not valid or has expired.")
    if len(data) > int(payload["max"]):
        raise TooLarge(f"The upload is {len(data)} bytes; at most {payload['max']} bytes.")
    _local_store().put(str(payload["put"]), data)


def local_download(token: str) -> tuple[bytes, str]:
    from chalicelib import signing

    payload = signing.verify(token)
    if payload is None or "get" not in payload:
        raise Forbidden("The download link is not valid or has expired.")
    try:
        return _local_store().get(str(payload["get"])), str(payload.get("filename", "download"))
    except BlobMissing as exc:
        raise NotFound("Nothing is stored under this link any more.") from exc
