"""The client's operations on a file by its name (GET, HEAD, PUT, DELETE /names/{name}), mixed
into Client. The name travels percent-encoded as one path segment."""

from __future__ import annotations

import json
import urllib.parse
from typing import IO, Any, Protocol, cast

from textfiles_client.types import File

TEXT = "text/plain; charset=utf-8"


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


def path(name: str) -> str:
    """/names/{name}, the name one percent-encoded segment (a space %20, a / %2F)."""
    return "/names/" + urllib.parse.quote(name, safe="")


def _operation(operation_id: str) -> Any:
    """As client.operation (which imports this module): the operation a method calls."""

    def mark(method: Any) -> Any:
        method.__operation__ = operation_id
        return method

    return mark


def _conditions(if_match: str | None, if_none_match: str | None) -> dict[str, str]:
    out = {"If-Match": if_match, "If-None-Match": if_none_match}
    return {k: v for k, v in out.items() if v}


class NamedOperations:
    @_operation("readNamed")
    def read_named(
        self: _Transport,
        name: str,
        if_none_match: str | None = None,
        if_match: str | None = None,
        sink: IO[bytes] | None = None,
    ) -> bytes:
        """The body (b"" when If-None-Match matched); a redirect to a link is followed."""
        headers = _conditions(if_match, if_none_match)
        return self.send("GET", self.url(path(name)), headers=headers, sink=sink)[2]

    @_operation("headNamed")
    def head_named(
        self: _Transport, name: str, if_none_match: str | None = None, if_match: str | None = None
    ) -> dict[str, str]:
        """The GET's headers (ETag, Last-Modified, ...), without the body."""
        url = self.url(path(name))
        return self.send("HEAD", url, headers=_conditions(if_match, if_none_match))[1]

    @_operation("putNamed")
    def put_named(
        self: _Transport,
        name: str,
        body: bytes,
        if_match: str | None = None,
        if_none_match: str | None = None,
        progress: Any = None,
    ) -> tuple[File, bool]:
        """Create (True) or replace (False) the file of that name."""
        headers = {"Content-Type": TEXT, **_conditions(if_match, if_none_match)}
        status, _, raw = self.send("PUT", self.url(path(name)), body, headers, progress)
        return cast(File, json.loads(raw)), status == 201

    @_operation("deleteNamed")
    def delete_named(self: _Transport, name: str, if_match: str | None = None) -> None:
        self.send("DELETE", self.url(path(name)), headers=_conditions(if_match, None))
