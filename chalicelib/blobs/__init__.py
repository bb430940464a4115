"""The blob port: file bodies by key, in S3 or a local folder."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from chalicelib import config


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


@functools.cache
def blobs() -> BlobStore:
    bucket = config.backend("FILES_BUCKET")
    if bucket:
        from chalicelib.blobs.s3 import S3BlobStore

        return S3BlobStore(bucket)
    from chalicelib.blobs.localfs import LocalBlobStore

    return LocalBlobStore(config.data_dir() / "blobs")
