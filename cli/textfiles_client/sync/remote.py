"""The service now, as far as a sync needs it: what changed since the cursor (the change feed,
each file's last change winning), or everything (a full listing, on a first sync or when the
cursor is too old: 410); and the writes a sync makes, each guarded by If-Match."""

from __future__ import annotations

from typing import NamedTuple

from textfiles_client.client import ApiError, Client
from textfiles_client.types import Change, File

PAGE = 1000
GONE = ("deleted", "purged")


class RemoteFile(NamedTuple):
    id: str
    name: str
    sha256: str
    size: int


class Pulled(NamedTuple):
    """Per file id touched: the file as it is now, or None (gone). `full`: every file is in
    `files` (a listing), so an id missing from it is gone too. `cursor`: where to go on from."""

    files: dict[str, RemoteFile | None]
    cursor: str
    full: bool


def bare(etag: str) -> str:
    return etag.removeprefix("W/").strip('"')


def pull(client: Client, cursor: str | None) -> Pulled:
    """The changes since `cursor`; a full listing when there is none or it is too old."""
    if cursor is None:
        return listing(client)
    touched: dict[str, RemoteFile | None] = {}
    while True:
        try:
            page = client.list_changes(cursor=cursor, limit=PAGE)
        except ApiError as exc:
            if exc.status == 410:  # older than the feed keeps: start again from a listing
                return listing(client)
            raise
        for change in page["items"]:
            touched[change["file_id"]] = _after(change)
        if not page["items"] or page["next_cursor"] == cursor:
            return Pulled(touched, page["next_cursor"], False)
        cursor = page["next_cursor"]


def _after(change: Change) -> RemoteFile | None:
    etag, size = change["etag"], change["size"]
    if change["type"] in GONE or etag is None or size is None:
        return None
    return RemoteFile(change["file_id"], change["name"], bare(etag), size)


def listing(client: Client) -> Pulled:
    """Every file. The feed's head is taken first, so a change made during the listing is
    pulled again next time rather than missed."""
    head = client.latest_change()
    files: dict[str, RemoteFile | None] = {}
    cursor = None
    while True:
        page = client.list_files(limit=PAGE, cursor=cursor)
        for item in page["items"]:
            files[item["id"]] = _file(item)
        cursor = page["next_cursor"]
        if not cursor:
            return Pulled(files, head, True)


def _file(meta: File) -> RemoteFile:
    return RemoteFile(meta["id"], meta["name"], meta["sha256"], meta["size"])


def _stale(file_id: str) -> ApiError:
    return ApiError(412, "PreconditionFailed", f"{file_id} changed since it was read.")


def guard(client: Client, file_id: str, sha256: str) -> None:
    """Checks the file still holds `sha256` before a rename or delete, for servers that do
    not yet honour If-Match on those (it is sent as well)."""
    if client.read_metadata(file_id)["sha256"] != sha256:
        raise _stale(file_id)


def rename(client: Client, file_id: str, name: str, sha256: str) -> File:
    guard(client, file_id, sha256)
    return client.rename_file(file_id, name, if_match=f'"{sha256}"')


def delete(client: Client, file_id: str, sha256: str) -> None:
    """Gone already (404) counts as done."""
    try:
        guard(client, file_id, sha256)
        client.delete_file(file_id, if_match=f'"{sha256}"')
    except ApiError as exc:
        if exc.status != 404:
            raise
