"""What the client's operation mixins (heads, named, history, changes) share: the transport
they are mixed over, the mark that ties a method to its OpenAPI operation, a path segment."""

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
