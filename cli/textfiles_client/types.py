"""The API's JSON shapes, as in the components of /openapi.json (a test keeps them equal)."""

from __future__ import annotations

from typing import Any, TypedDict


class File(TypedDict):
    id: str
    name: str
    size: int
    sha256: str
    etag: str  # the body's: guards the body
    record_etag: str  # the record's: changes with every version, rename included
    version: int
    created_at: str
    updated_at: str
    expires_at: str


class FileList(TypedDict):
    items: list[File]
    next_cursor: str | None


class Change(TypedDict):
    seq: int
    type: str
    file_id: str
    name: str
    version: int
    etag: str | None  # None: purged
    size: int | None
    at: str


class ChangeList(TypedDict):
    items: list[Change]
    next_cursor: str


class Upload(TypedDict):
    upload_id: str
    name: str
    size: int
    url: str
    method: str
    headers: dict[str, str]
    max_bytes: int
    expires_at: str
    complete_url: str


class Rename(TypedDict):
    name: str


class Progress(TypedDict):
    done: int
    total: int | None
    message: str


class Task(TypedDict):
    id: str
    kind: str
    state: str
    progress: Progress
    result: dict[str, Any] | None
    error: str | None
    created_at: str
    updated_at: str


class Meter(TypedDict):
    used: int
    limit: int


class Rate(TypedDict):
    used: int
    limit: int
    remaining: int
    window_seconds: int
    reset_seconds: int


class StoredBytes(TypedDict):
    used: int
    limit: int
    current: int
    history: int
    trash: int


class Usage(TypedDict):
    files: Meter
    bytes: StoredBytes
    running_tasks: Meter
    exports: Meter
    rate: Rate
    max_inline_bytes: int
    max_upload_bytes: int


class Version(TypedDict):
    file_id: str
    version: int
    name: str
    size: int
    sha256: str
    etag: str
    created_at: str
    superseded_at: str | None
    expires_at: str


class VersionList(TypedDict):
    items: list[Version]
    next_cursor: str | None


class Trashed(TypedDict):
    id: str
    name: str
    size: int
    version: int
    created_at: str
    deleted_at: str
    expires_at: str


class TrashList(TypedDict):
    items: list[Trashed]
    next_cursor: str | None


class Health(TypedDict):
    status: str
    checks: dict[str, dict[str, Any]]


class Error(TypedDict, total=False):
    Code: str
    Message: str
    quota: str
    used: int
    limit: int
    state: str
    upload_url: str
    size: int
