"""The client's HEAD operations and the request headers of a ranged read, mixed into Client."""

from __future__ import annotations

from textfiles_client.mixin import Transport, operation, q
from textfiles_client.named import conditions


def read_headers(
    if_none_match: str | None = None, range: str | None = None, if_range: str | None = None
) -> dict[str, str]:
    """The conditions of a body's GET: If-None-Match (304), Range ("bytes=0-99": 206 with
    those bytes; a body behind a redirect is ranged by its store) and If-Range."""
    headers = {"If-None-Match": if_none_match, "Range": range, "If-Range": if_range}
    return {name: value for name, value in headers.items() if value}


def _head(transport: Transport, path: str, if_none_match: str | None) -> dict[str, str]:
    return transport.send("HEAD", transport.url(path), headers=read_headers(if_none_match))[1]


class HeadOperations:
    """Each answers GET's status and headers without a body (Content-Length: the body's)."""

    @operation("headFile")
    def head_file(
        self: Transport,
        file_id: str,
        if_none_match: str | None = None,
        if_match: str | None = None,
        if_modified_since: str | None = None,
        if_unmodified_since: str | None = None,
    ) -> dict[str, str]:
        """GET's preconditions apply: 304 on If-None-Match, 412 on a stale If-Match."""
        headers = conditions(if_match, if_none_match, if_modified_since, if_unmodified_since)
        return self.send("HEAD", self.url(f"/files/{q(file_id)}"), headers=headers)[1]

    @operation("headMetadata")
    def head_metadata(
        self: Transport,
        file_id: str,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> dict[str, str]:
        """The metadata's headers (its ETag is the record's)."""
        headers = conditions(if_match, if_none_match)
        return self.send("HEAD", self.url(f"/files/{q(file_id)}/metadata"), headers=headers)[1]

    @operation("headVersion")
    def head_version(
        self: Transport, file_id: str, version: int, if_none_match: str | None = None
    ) -> dict[str, str]:
        return _head(self, f"/files/{q(file_id)}/versions/{q(version)}", if_none_match)

    @operation("headVersionMetadata")
    def head_version_metadata(self: Transport, file_id: str, version: int) -> dict[str, str]:
        return _head(self, f"/files/{q(file_id)}/versions/{q(version)}/metadata", None)
