"""The S3 driver: bodies under tenant-scoped keys, presigned links for big bodies.

The calls of a cold read or create (GetObject, PutObject, DeleteObject) are signed requests
without botocore (chalicelib.aws.clients); every other call goes through a botocore client, built
on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from chalicelib.aws import clients
from chalicelib.blobs.base import BlobInfo, BlobMissing, PresignedUpload
from chalicelib.errors import BackendUnavailable

_MISSING = {"NoSuchKey", "404", "NotFound"}
CONTENT_TYPE = "text/plain; charset=utf-8"


@contextmanager
def _storage_errors(key: str = "") -> Iterator[None]:
    try:
        yield
    except clients.service_errors() as exc:  # evaluated only when an error is raised
        if clients.error_code(exc) in _MISSING:
            raise BlobMissing(key) from exc
        raise BackendUnavailable("storage", clients.error_code(exc)) from exc
    except clients.transport_errors() as exc:
        raise BackendUnavailable("storage", type(exc).__name__) from exc


def _micros(when: Any) -> int:
    return int(when.timestamp() * 1_000_000)


class S3BlobStore:
    name = "s3"

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    @functools.cached_property
    def s3(self) -> Any:
        """botocore's client, built on the first call that needs it (not on a read or write)."""
        return clients.client("s3")

    @property
    def fast(self) -> Any:
        """The signed client of the cold path (botocore's where it must decide)."""
        return clients.client("s3", signed=True)

    def put(self, key: str, data: bytes) -> None:
        with _storage_errors(key):
            self.fast.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=CONTENT_TYPE)

    def get(self, key: str, max_bytes: int | None = None) -> bytes:
        extra = {"Range": f"bytes=0-{max_bytes - 1}"} if max_bytes else {}
        try:
            with _storage_errors(key):
                response = self.fast.get_object(Bucket=self.bucket, Key=key, **extra)
                return bytes(response["Body"].read())
        except BackendUnavailable as exc:
            if extra and exc.detail == "InvalidRange":  # S3's answer for an empty object
                return b""
            raise

    def chunks(self, key: str, size: int) -> Iterator[bytes]:
        """One streamed GetObject (botocore's, whose body is read as it arrives)."""
        with _storage_errors(key):
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                yield from body.iter_chunks(size)
            finally:
                body.close()

    def head(self, key: str) -> BlobInfo:
        with _storage_errors(key):
            response = self.s3.head_object(Bucket=self.bucket, Key=key)
        return BlobInfo(key, int(response["ContentLength"]), _micros(response["LastModified"]))

    def copy(self, source: str, key: str) -> None:
        """CopyObject: the bytes never pass through the function (S3 copies up to 5 GB)."""
        with _storage_errors(source):
            self.s3.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": source},
                ContentType=CONTENT_TYPE,
                MetadataDirective="REPLACE",
            )

    def delete(self, key: str) -> None:
        with _storage_errors(key):
            self.fast.delete_object(Bucket=self.bucket, Key=key)

    def list(self, prefix: str) -> Iterator[BlobInfo]:
        token: dict[str, str] = {}
        while True:
            with _storage_errors(prefix):
                page = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix, **token)
            for item in page.get("Contents", []):
                yield BlobInfo(item["Key"], int(item["Size"]), _micros(item["LastModified"]))
            if not page.get("IsTruncated"):
                return
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def upload_url(self, key: str, expires_s: int, size: int) -> PresignedUpload:
        """A presigned PUT whose signature covers Content-Length: S3 refuses any other size."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "ContentType": CONTENT_TYPE}
        params["ContentLength"] = size
        with _storage_errors(key):
            url = self.s3.generate_presigned_url("put_object", Params=params, ExpiresIn=expires_s)
        headers = {"Content-Type": CONTENT_TYPE, "Content-Length": str(size)}
        return PresignedUpload(str(url), "PUT", headers)

    def download_url(self, key: str, expires_s: int, filename: str) -> str:
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "ResponseContentDisposition": f'attachment; filename="{filename}"',
        }
        with _storage_errors(key):
            return str(
                self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
            )

    def read_url(self, key: str, expires_s: int) -> str:
        params = {"Bucket": self.bucket, "Key": key, "ResponseContentType": CONTENT_TYPE}
        with _storage_errors(key):
            url = self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
        return str(url)

    def ping(self) -> None:
        with _storage_errors():
            self.s3.head_bucket(Bucket=self.bucket)

    # --- multipart writes and paged listing (tasks: exports, purge) -------------------

    min_part_bytes = 5 * 1024 * 1024  # S3's minimum for every part but the last

    def list_page(self, prefix: str, after: str, limit: int) -> Sequence[BlobInfo]:
        with _storage_errors(prefix):
            page = self.s3.list_objects_v2(
                Bucket=self.bucket, Prefix=prefix, StartAfter=after, MaxKeys=limit
            )
        return [
            BlobInfo(item["Key"], int(item["Size"]), _micros(item["LastModified"]))
            for item in page.get("Contents", [])
        ]

    def start_multipart(self, key: str, content_type: str) -> str:
        with _storage_errors(key):
            reply = self.s3.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type
            )
        return str(reply["UploadId"])

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        with _storage_errors(key), _multipart_errors(key):
            reply = self.s3.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
            )
        return str(reply["ETag"])

    def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]
    ) -> None:
        listed = [{"PartNumber": n, "ETag": etag} for n, etag in sorted(parts)]
        with _storage_errors(key), _multipart_errors(key):
            self.s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": listed},
            )

    def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            with _storage_errors(key), _multipart_errors(key):
                self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except BlobMissing:
            pass


@contextmanager
def _multipart_errors(key: str) -> Iterator[None]:
    """An unknown (completed or aborted) upload is BlobMissing, not an outage."""
    try:
        yield
    except clients.service_errors() as exc:
        if clients.error_code(exc) == "NoSuchUpload":
            raise BlobMissing(key) from exc
        raise
