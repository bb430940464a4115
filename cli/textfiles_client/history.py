"""The client's history operations (versions, diffs, restores, the trash), mixed into Client."""

from __future__ import annotations

import urllib.parse
from typing import IO, Any, Protocol, cast

from textfiles_client.heads import read_headers
from textfiles_client.types import File, TrashList, Version, VersionList


class _Transport(Protocol):
    def url(self, path: str, **query: Any) -> str: ...

    def send(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        progress: Any = None,
        auth: bool = True,
        sink: IO[bytes] | None = None,
    ) -> tuple[int, dict[str, str], bytes]: ...

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **query: Any,
    ) -> Any: ...


def _q(part: str | int) -> str:
    return urllib.parse.quote(str(part), safe="")


def _operation(operation_id: str) -> Any:
    """As client.operation (which imports this module): the operation a method calls."""

    def mark(method: Any) -> Any:
        method.__operation__ = operation_id
        return method

    return mark


class HistoryOperations:
    @_operation("listVersions")
    def list_versions(
        self: _Transport, file_id: str, limit: int | None = None, cursor: str | None = None
    ) -> VersionList:
        found = self.call("GET", f"/files/{_q(file_id)}/versions", limit=limit, cursor=cursor)
        return cast(VersionList, found)

    @_operation("readVersion")
    def read_version(
        self: _Transport,
        file_id: str,
        version: int,
        if_none_match: str | None = None,
        sink: IO[bytes] | None = None,
        range: str | None = None,
        if_range: str | None = None,
    ) -> bytes:
        """Version n's body, or the part `range` names; a redirect to a link is followed."""
        headers = read_headers(if_none_match, range, if_range)
        url = self.url(f"/files/{_q(file_id)}/versions/{_q(version)}")
        return self.send("GET", url, headers=headers, sink=sink)[2]

    @_operation("readVersionMetadata")
    def read_version_metadata(self: _Transport, file_id: str, version: int) -> Version:
        path = f"/files/{_q(file_id)}/versions/{_q(version)}/metadata"
        return cast(Version, self.call("GET", path))

    @_operation("diffVersions")
    def diff_versions(self: _Transport, file_id: str, from_: int, to: int | None = None) -> str:
        url = self.url(f"/files/{_q(file_id)}/diff", **{"from": from_, "to": to})
        return self.send("GET", url)[2].decode("utf-8")

    @_operation("restoreVersion")
    def restore_version(
        self: _Transport,
        file_id: str,
        version: int,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> File:
        headers = {**_keyed(idempotency_key), **({"If-Match": if_match} if if_match else {})}
        url = self.url(f"/files/{_q(file_id)}/versions/{_q(version)}/restore")
        return cast(File, _json(self.send("POST", url, headers=headers)[2]))

    @_operation("listTrash")
    def list_trash(
        self: _Transport, limit: int | None = None, cursor: str | None = None
    ) -> TrashList:
        return cast(TrashList, self.call("GET", "/trash", limit=limit, cursor=cursor))

    @_operation("restoreTrashed")
    def restore_trashed(
        self: _Transport, file_id: str, name: str | None = None, idempotency_key: str | None = None
    ) -> File:
        path = f"/trash/{_q(file_id)}/restore"
        return cast(File, self.call("POST", path, None, _keyed(idempotency_key), name=name))

    @_operation("deleteTrashed")
    def delete_trashed(self: _Transport, file_id: str) -> None:
        self.send("DELETE", self.url(f"/trash/{_q(file_id)}"))


def _keyed(idempotency_key: str | None) -> dict[str, str]:
    """An Idempotency-Key, one per operation (as client.new_key): a retry replays, once."""
    import secrets

    return {"Idempotency-Key": idempotency_key or secrets.token_hex(16)}


def _json(raw: bytes) -> Any:
    import json

    return json.loads(raw)
