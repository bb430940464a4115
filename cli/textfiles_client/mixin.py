"""What the client's operations share: the transport the mixins (heads, named, history, changes)
are mixed over, the mark that ties a method to its OpenAPI operation, a path segment, and the
request headers of preconditions and ranged reads."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import IO, Any, Protocol, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Transport(Protocol):
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


def operation(operation_id: str) -> Callable[[F], F]:
    """Mark a method as the client of one operation of the OpenAPI document."""

    def mark(method: F) -> F:
        method.__operation__ = operation_id  # type: ignore[attr-defined]
        return method

    return mark


def q(part: str | int) -> str:
    """One path segment, percent-encoded (a / too)."""
    return urllib.parse.quote(str(part), safe="")


def conditions(
    if_match: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
    if_unmodified_since: str | None = None,
) -> dict[str, str]:
    """The precondition headers given (HTTP-dates as strings)."""
    out = {
        "If-Match": if_match,
        "If-None-Match": if_none_match,
        "If-Modified-Since": if_modified_since,
        "If-Unmodified-Since": if_unmodified_since,
    }
    return {k: v for k, v in out.items() if v}


def read_headers(
    if_none_match: str | None = None, range: str | None = None, if_range: str | None = None
) -> dict[str, str]:
    """The conditions of a body's GET: If-None-Match (304), Range ("bytes=0-99": 206 with
    those bytes; a body behind a redirect is ranged by its store) and If-Range."""
    headers = {"If-None-Match": if_none_match, "Range": range, "If-Range": if_range}
    return {name: value for name, value in headers.items() if value}
