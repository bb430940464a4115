"""Large bodies: a presigned upload link, then a completion call that validates and files it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import clock, config, files, ids
from chalicelib.auth import Tenant
from chalicelib.blobs import BlobMissing, PresignedUpload, blobs
from chalicelib.db import database
from chalicelib.errors import Conflict, NotFound, NotPlaintext, TooLarge

SQL_NAME_TAKEN = "SELECT id FROM files WHERE tenant_id = :t AND name = :name AND expires_us > :now"
SQL_INSERT = (
    "INSERT INTO uploads (id, tenant_id, file_id, name, blob_key, created_us, expires_us)"
    " VALUES (:id, :t, :file_id, :name, :blob_key, :now, :expires)"
)
SQL_GET = (
    "SELECT id, file_id, name, blob_key, expires_us FROM uploads WHERE id = :id AND tenant_id = :t"
)
SQL_DELETE = "DELETE FROM uploads WHERE id = :id"


@dataclass(frozen=True)
class Upload:
    id: str
    name: str
    link: PresignedUpload
    expires_us: int
    max_bytes: int

    def public(self) -> dict[str, Any]:
        return {
            "upload_id": self.id,
            "name": self.name,
            "url": self.link.url,
            "method": self.link.method,
            "headers": self.link.headers,
            "max_bytes": self.max_bytes,
            "expires_at": clock.iso(self.expires_us),
            "complete_url": f"/files/uploads/{self.id}/complete",
        }


def _name_taken(tenant: Tenant, name: str) -> bool:
    rows = database().query(SQL_NAME_TAKEN, t=tenant.id, name=name, now=clock.now_us())
    return bool(rows)


def start(tenant: Tenant, name: str) -> Upload:
    """Reserve nothing yet: the name is checked now and again when the upload completes."""
    files.validate_name(name)
    if _name_taken(tenant, name):
        raise Conflict(f"A file named {name!r} already exists.")
    upload_id = ids.new_id()
    file_id = ids.new_id()
    blob_key = f"tenants/{tenant.id}/files/{file_id}/{ids.new_id()}"
    lifetime = config.upload_url_seconds()
    now = clock.now_us()
    expires = now + lifetime * 1_000_000
    max_bytes = config.max_upload_bytes()
    link = blobs().upload_url(blob_key, lifetime, max_bytes)
    database().execute(
        SQL_INSERT,
        id=upload_id,
        t=tenant.id,
        file_id=file_id,
        name=name,
        blob_key=blob_key,
        now=now,
        expires=expires,
    )
    return Upload(upload_id, name, link, expires, max_bytes)


def complete(tenant: Tenant, upload_id: str) -> tuple[files.FileMeta, bool]:
    """The file made from the uploaded body, and whether this call created it."""
    rows = database().query(SQL_GET, id=upload_id, t=tenant.id)
    if not rows:
        raise NotFound(f"No upload {upload_id}.")
    row = rows[0]
    try:
        return files.get_meta(tenant, row["file_id"]), False
    except NotFound:
        pass
    # A transfer that began just before the link expired may end after it: one more lifetime.
    if row["expires_us"] + config.upload_url_seconds() * 1_000_000 < clock.now_us():
        raise NotFound(f"Upload {upload_id} has expired; start a new one.")
    body = _uploaded_body(row["blob_key"], upload_id)
    try:
        files.validate_body(body, config.max_upload_bytes())
    except (TooLarge, NotPlaintext):
        files.drop_blobs([row["blob_key"]])
        database().execute(SQL_DELETE, id=upload_id)
        raise
    # The upload row stays until the purge removes it, so a retried completion finds the file.
    return files.insert(tenant, row["file_id"], row["name"], body, row["blob_key"]), True


def _uploaded_body(blob_key: str, upload_id: str) -> bytes:
    limit = config.max_upload_bytes()
    try:
        size = blobs().head(blob_key).size
        if size > limit:
            blobs().delete(blob_key)
            raise TooLarge(f"The upload is {size} bytes; uploads are at most {limit} bytes.")
        return blobs().get(blob_key)
    except BlobMissing as exc:
        raise Conflict(
            f"Upload {upload_id} has no body yet: PUT it to the upload URL first."
        ) from exc
