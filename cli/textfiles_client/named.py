"""The client's operations on a file by its name (GET, HEAD, PUT, DELETE /names/{name}), mixed
into Client. The name travels percent-encoded as one path segment."""

from __future__ import annotations

import json
import urllib.parse
from typing import IO, Any, cast

from textfiles_client.mixin import Transport, conditions, operation, read_headers
from textfiles_client.types import File

TEXT = "text/plain; charset=utf-8"


def path(name: str) -> str:
    """/names/{name}, the name one percent-encoded segment (a space %20, a / %2F)."""
    return "/names/" + urllib.parse.quote(name, safe="")


class NamedOperations:
    @operation("readNamed")
    def read_named(
        self: Transport,
        name: str,
        if_none_match: str | None = None,
        if_match: str | None = None,
        sink: IO[bytes] | None = None,
        if_modified_since: str | None = None,
        if_unmodified_since: str | None = None,
        range: str | None = None,
        if_range: str | None = None,
    ) -> bytes:
        """The body (b"" when a 304 answered), or the part `range` names ("bytes=0-99"); a
        redirect to a link is followed (the link's store answers the range)."""
        headers = {
            **conditions(if_match, if_none_match, if_modified_since, if_unmodified_since),
            **read_headers(None, range, if_range),
        }
        return self.send("GET", self.url(path(name)), headers=headers, sink=sink)[2]

    @operation("headNamed")
    def head_named(
        self: Transport,
        name: str,
        if_none_match: str | None = None,
        if_match: str | None = None,
        if_modified_since: str | None = None,
        if_unmodified_since: str | None = None,
    ) -> dict[str, str]:
        """The GET's headers (ETag, Last-Modified, ...), without the body."""
        headers = conditions(if_match, if_none_match, if_modified_since, if_unmodified_since)
        return self.send("HEAD", self.url(path(name)), headers=headers)[1]

    @operation("putNamed")
    def put_named(
        self: Transport,
        name: str,
        body: bytes,
        if_match: str | None = None,
        if_none_match: str | None = None,
        progress: Any = None,
    ) -> tuple[File, bool]:
        """Create (True) or replace (False) the file of that name."""
        headers = {"Content-Type": TEXT, **conditions(if_match, if_none_match)}
        status, _, raw = self.send("PUT", self.url(path(name)), body, headers, progress)
        return cast(File, json.loads(raw)), status == 201

    @operation("deleteNamed")
    def delete_named(self: Transport, name: str, if_match: str | None = None) -> None:
        self.send("DELETE", self.url(path(name)), headers=conditions(if_match))
