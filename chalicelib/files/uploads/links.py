"""An upload's link and its reservation, shared by the uploads of new files (__init__.py) and
those that replace a file's body (replace.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import blobkeys, clock, config, ids
from chalicelib.blobs import PresignedUpload, blobs
from chalicelib.db import Row
from chalicelib.errors import BadRequest, NotFound, TooLarge
from chalicelib.files import bookkeeping, orphans, store
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


def reserve(tenant: Tenant, file_id: str, shown: str, stored: str, size: int) -> Upload:
    """A link for `size` bytes to a staging object of `file_id`, reserved against the quota;
    `stored`: the upload row's name (a new file's, or a replace's condition)."""
    upload_id = ids.new_id()
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
            name=stored,
            blob_key=staging_key,
            size=size,
            now=now,
            expires=expires,
        )
    return Upload(upload_id, shown, size, link, expires, config.max_upload_bytes())


def check_alive(row: Row) -> None:
    """A transfer that began just before the link expired may end after it: one more lifetime."""
    if row["expires_us"] + config.upload_url_seconds() * 1_000_000 < clock.now_us():
        raise NotFound(f"Upload {row['id']} has expired; start a new one.")


def limit(row: Row) -> int:
    """The declared size (what the link was signed for), within the upload limit."""
    most = config.max_upload_bytes()
    return most if row["size"] is None else min(most, int(row["size"]))


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
