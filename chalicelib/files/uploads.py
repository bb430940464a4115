"""Large bodies: a presigned upload link, then a completion call that validates and files it.

The link writes a staging object only. Completion reads it once, validates those bytes and
stores them under a fresh key the file's row points at, so nothing sent to the link later can
change the file. The link is signed for the declared size, and the bytes of pending uploads
count against the tenant's byte quota (chalicelib/tenants/limits.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import blobkeys, clock, config, ids, racepoints
from chalicelib.blobs import BlobMissing, PresignedUpload, blobs
from chalicelib.db import Row
from chalicelib.errors import (
    BadRequest,
    Conflict,
    DomainError,
    NotFound,
    NotPlaintext,
    TooLarge,
)
from chalicelib.files import bookkeeping, orphans, reading, rules, store, writes
from chalicelib.files.rules import FileMeta
from chalicelib.tenants import limits
from chalicelib.tenants.apikeys import Tenant


@dataclass(frozen=True)
class Upload:
    id: str
    name: str
    size: int
    link: PresignedUpload
    expires_us: int
    max_bytes: int

    def public(self) -> dict[str, Any]:
        return {
            "upload_id": self.id,
            "name": self.name,
            "size": self.size,
            "url": self.link.url,
            "method": self.link.method,
            "headers": self.link.headers,
            "max_bytes": self.max_bytes,
            "expires_at": clock.iso(self.expires_us),
            "complete_url": f"/files/uploads/{self.id}/complete",
        }


def parse_size(raw: str | None) -> int:
    limit = config.max_upload_bytes()
    if raw is None or not raw.isascii() or not raw.isdigit():
        raise BadRequest(f"size is required: the body's length in bytes (at most {limit}).")
    digits = raw.lstrip("0") or "0"
    # Compared as text first: int() refuses more than 4,300 digits (a 500, not a 413).
    if len(digits) > len(str(limit)) or int(digits) > limit:
        shown = digits if len(digits) <= 20 else f"a {len(digits)}-digit number of"
        message = f"Uploads are at most {limit} bytes; this one would be {shown} bytes."
        raise TooLarge(message, limit=limit)
    return int(digits)


def start(tenant: Tenant, name: str, raw_size: str | None) -> Upload:
    """Reserve the declared bytes against the quota; the name is checked now and on completion."""
    rules.validate_name(name)
    size = parse_size(raw_size)
    if store.repository().name_taken(tenant.id, name, clock.now_us()):
        raise Conflict(f"A file named {name!r} already exists.")
    upload_id, file_id = ids.new_id(), ids.new_id()
    staging_key = blobkeys.file_body(tenant.id, file_id)
    lifetime = config.upload_url_seconds()
    now = clock.now_us()
    expires = now + lifetime * 1_000_000
    link = blobs().upload_url(staging_key, lifetime, size)
    orphans.collect_quietly(tenant.id)  # the staging objects of its ended uploads first
    with store.repository().transaction():
        limits.check_storage(tenant.id, tenant.overrides, files=0, size=size)
        # The staging object is garbage from the start, due once the link can no longer be
        # used (plus a lifetime for a transfer under way): the collector deletes it then, and
        # until it does, the reservation counts (chalicelib/tenants/store.py).
        bookkeeping.record_garbage([staging_key], expires + lifetime * 1_000_000)
        bookkeeping.add_upload(
            id=upload_id,
            t=tenant.id,
            file_id=file_id,
            name=name,
            blob_key=staging_key,
            size=size,
            now=now,
            expires=expires,
        )
    return Upload(upload_id, name, size, link, expires, config.max_upload_bytes())


def _filed(tenant: Tenant, row: Row) -> FileMeta | None:
    """The file this upload already made, if any."""
    try:
        return reading.get_meta(tenant, row["file_id"])
    except NotFound:
        return None


def complete(tenant: Tenant, upload_id: str) -> tuple[FileMeta, bool]:
    """The file made from the uploaded body, and whether this call created it.

    Idempotent under concurrency: a second completion (a client's retry) answers with the
    file the first one made, and each completion only ever deletes the copy it made itself.
    """
    row = bookkeeping.upload(tenant.id, upload_id)
    if row is None:
        raise NotFound(f"No upload {upload_id}.")
    done = _filed(tenant, row)
    if done is not None:
        return done, False
    # A transfer that began just before the link expired may end after it: one more lifetime.
    if row["expires_us"] + config.upload_url_seconds() * 1_000_000 < clock.now_us():
        raise NotFound(f"Upload {upload_id} has expired; start a new one.")
    try:
        return _file(tenant, row), True
    except DomainError:
        done = _filed(tenant, row)  # another completion got there first
        if done is None:
            raise
        return done, False


def _file(tenant: Tenant, row: Row) -> FileMeta:
    try:
        body = _uploaded_body(row)
        rules.validate_body(body, _limit(row))
    except (TooLarge, NotPlaintext):
        if _filed(tenant, row) is None:
            orphans.drop([row["blob_key"]])  # the upload stays reserved while its link lives
        raise
    # The file gets its own copy of exactly the bytes validated: the link writes only the
    # staging object, so nothing sent to it from now on can change the file.
    file_id = row["file_id"]
    with orphans.new_body(blobkeys.file_body(tenant.id, file_id), body) as blob_key:
        racepoints.point("uploads.complete.filing")
        meta = writes.add_row(tenant, file_id, row["name"], body, blob_key, row["blob_key"])
    writes.written(meta, body)
    # The upload row stays until the purge removes it, so a retried completion finds the file.
    bookkeeping.upload_completed(row["id"], clock.now_us())
    orphans.drop([row["blob_key"]])
    return meta


def _limit(row: Row) -> int:
    """The declared size (what the link was signed for), within the upload limit."""
    limit = config.max_upload_bytes()
    return limit if row["size"] is None else min(limit, int(row["size"]))


def _uploaded_body(row: Row) -> bytes:
    limit = _limit(row)
    try:
        size = blobs().head(row["blob_key"]).size
        if size > limit:
            raise TooLarge(f"The upload is {size} bytes; this upload takes at most {limit}.")
        return blobs().get(row["blob_key"])
    except BlobMissing as exc:
        raise Conflict(
            f"Upload {row['id']} has no body yet: PUT it to the upload URL first."
        ) from exc


def relinked(tenant_id: str, kept: dict[str, Any]) -> dict[str, Any]:
    """An upload's kept answer (Idempotency-Key keeps none of its link: a presigned URL may
    carry the function's session token) with its link signed again, for the same upload,
    until the same expiry."""
    row = bookkeeping.upload(tenant_id, str(kept.get("upload_id")))
    if row is None:
        raise NotFound("The upload of this Idempotency-Key is no longer kept.")
    lifetime = max(1, -(-(int(row["expires_us"]) - clock.now_us()) // 1_000_000))
    link = blobs().upload_url(row["blob_key"], lifetime, int(row["size"]))
    return {**kept, "url": link.url, "method": link.method, "headers": link.headers}
