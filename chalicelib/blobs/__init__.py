"""The blob port: file bodies by key, in S3 or a local folder (its types: blobs/base.py)."""

from __future__ import annotations

import functools

from chalicelib import config
from chalicelib.blobs.base import BlobInfo, BlobMissing, BlobStore, PresignedUpload
from chalicelib.errors import BadRequest, Forbidden, NotFound, TooLarge

__all__ = [
    "BlobInfo",
    "BlobMissing",
    "BlobStore",
    "PresignedUpload",
    "blobs",
    "local_download",
    "local_upload",
]


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
    from chalicelib.blobs import link_tokens

    store = _local_store()
    payload = link_tokens.verify(token)
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
    from chalicelib.blobs import link_tokens

    store = _local_store()
    payload = link_tokens.verify(token)
    if payload is None or "get" not in payload:
        raise Forbidden("The download link is not valid or has expired.")
    filename = payload.get("filename")
    try:
        return store.get(str(payload["get"])), None if filename is None else str(filename)
    except BlobMissing as exc:
        raise NotFound("Nothing is stored under this link any more.") from exc
