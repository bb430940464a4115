"""The client's history operations (versions, diffs, restores, the trash), mixed into Client."""

from __future__ import annotations

from typing import IO, Any, cast

from textfiles_client.mixin import Transport, operation, q, read_headers
from textfiles_client.types import File, TrashList, Version, VersionList


class HistoryOperations:
    @operation("listVersions")
    def list_versions(
        self: Transport, file_id: str, limit: int | None = None, cursor: str | None = None
    ) -> VersionList:
        found = self.call("GET", f"/files/{q(file_id)}/versions", limit=limit, cursor=cursor)
        return cast(VersionList, found)

    @operation("readVersion")
    def read_version(
        self: Transport,
        file_id: str,
        version: int,
        if_none_match: str | None = None,
        sink: IO[bytes] | None = None,
        range: str | None = None,
        if_range: str | None = None,
    ) -> bytes:
        """Version n's body, or the part `range` names; a redirect to a link is followed."""
        headers = read_headers(if_none_match, range, if_range)
        url = self.url(f"/files/{q(file_id)}/versions/{q(version)}")
        return self.send("GET", url, headers=headers, sink=sink)[2]

    @operation("readVersionMetadata")
    def read_version_metadata(self: Transport, file_id: str, version: int) -> Version:
        path = f"/files/{q(file_id)}/versions/{q(version)}/metadata"
        return cast(Version, self.call("GET", path))

    @operation("diffVersions")
    def diff_versions(self: Transport, file_id: str, from_: int, to: int | None = None) -> str:
        url = self.url(f"/files/{q(file_id)}/diff", **{"from": from_, "to": to})
        return self.send("GET", url)[2].decode("utf-8")

    @operation("restoreVersion")
    def restore_version(
        self: Transport,
        file_id: str,
        version: int,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> File:
        headers = {**_keyed(idempotency_key), **({"If-Match": if_match} if if_match else {})}
        url = self.url(f"/files/{q(file_id)}/versions/{q(version)}/restore")
        return cast(File, _json(self.send("POST", url, headers=headers)[2]))

    @operation("listTrash")
    def list_trash(
        self: Transport, limit: int | None = None, cursor: str | None = None
    ) -> TrashList:
        return cast(TrashList, self.call("GET", "/trash", limit=limit, cursor=cursor))

    @operation("restoreTrashed")
    def restore_trashed(
        self: Transport, file_id: str, name: str | None = None, idempotency_key: str | None = None
    ) -> File:
        path = f"/trash/{q(file_id)}/restore"
        return cast(File, self.call("POST", path, None, _keyed(idempotency_key), name=name))

    @operation("deleteTrashed")
    def delete_trashed(self: Transport, file_id: str) -> None:
        self.send("DELETE", self.url(f"/trash/{q(file_id)}"))


def _keyed(idempotency_key: str | None) -> dict[str, str]:
    """An Idempotency-Key, one per operation (as client.new_key): a retry replays, once."""
    import secrets

    return {"Idempotency-Key": idempotency_key or secrets.token_hex(16)}


def _json(raw: bytes) -> Any:
    import json

    return json.loads(raw)
