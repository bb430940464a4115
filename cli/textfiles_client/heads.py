"""The client's HEAD operations, mixed into Client."""

from __future__ import annotations

from textfiles_client.mixin import Transport, conditions, operation, q


def _head(transport: Transport, path: str, headers: dict[str, str]) -> dict[str, str]:
    return transport.send("HEAD", transport.url(path), headers=headers)[1]


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
        return _head(self, f"/files/{q(file_id)}", headers)

    @operation("headMetadata")
    def head_metadata(
        self: Transport,
        file_id: str,
        if_none_match: str | None = None,
        if_match: str | None = None,
    ) -> dict[str, str]:
        """The metadata's headers (its ETag is the record's)."""
        return _head(self, f"/files/{q(file_id)}/metadata", conditions(if_match, if_none_match))

    @operation("headVersion")
    def head_version(
        self: Transport, file_id: str, version: int, if_none_match: str | None = None
    ) -> dict[str, str]:
        return _head(
            self, f"/files/{q(file_id)}/versions/{q(version)}", conditions(None, if_none_match)
        )

    @operation("headVersionMetadata")
    def head_version_metadata(self: Transport, file_id: str, version: int) -> dict[str, str]:
        return _head(self, f"/files/{q(file_id)}/versions/{q(version)}/metadata", {})
