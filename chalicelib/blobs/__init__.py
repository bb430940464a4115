"""The blob port: file bodies by key, in S3 or a local folder."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from chalicelib import config
from chalicelib.errors import BadRequest, Forbidden, NotFound, TooLarge


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


@functools.cache
def blobs() -> BlobStore:
    bucket = config.backend("FILES_BUCKET")
    if bucket:
        from chalicelib.blobs.s3 import S3BlobStore

        return S3BlobStore(bucket)
    from chalicelib.blobs.localfs import LocalBlobStore

    return LocalBlobStore(config.data_dir() / "blobs")


def _local_store() -> BlobStore:
    """The folder driver; with S3 the local link routes do not exist (checked before the
    token, so nothing is read or written to verify one)."""
    if config.get("FILES_BUCKET") or config.in_lambda():
        raise NotFound("Uploads and downloads go straight to S3 on this deployment.")
    store = blobs()
    if store.name != "localfs":
        raise NotFound("Uploads and downloads go straight to S3 on this deployment.")
    return store


def local_upload(token: str, data: bytes) -> None:
    """Store a body PUT to a signed local link (the folder driver's presigned URL).

    The link names its length like a signed Content-Length: a body of any other size is
    refused, so a link never stores more than the upload reserved."""
    from chalicelib import signing

    store = _local_store()
    payload = signing.verify(token)
    if payload is None or "put" not in payload:
        raise Forbidden("The upload link is not valid or has expired.")
    size = int(payload["size"])
    if len(data) > size:
        raise TooLarge(f"The upload is {len(data)} bytes; this link takes {size} bytes.")
    if len(data) != size:
        raise BadRequest(f"The upload is {len(data)} bytes; this link takes {size} bytes.")
    store.put(str(payload["put"]), data)


def local_download(token: str) -> tuple[bytes, str | None]:
    """The bytes behind a signed local read or download link, and the download's file name
    (None for a read link: the body is shown as text)."""
    from chalicelib import signing

    store = _local_store()
    payload = signing.verify(token)
    if payload is None or "get" not in payload:
        raise Forbidden("The download link is not valid or has expired.")
    filename = payload.get("filename")
    try:
        return store.get(str(payload["get"])), None if filename is None else str(filename)
    except BlobMissing as exc:
        raise NotFound("Nothing is stored under this link any more.") from exc
