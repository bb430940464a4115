"""The HTTP API's routes as data: what a route takes, answers and raises.

The table is chalicelib/routes/table.py; chalicelib/openapi.py renders the OpenAPI document
from it, and tests/api/test_routes.py keeps it equal to the routes the app registers (a
handler without an entry, or an entry without a handler, fails)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.errors import BackendUnavailable, DomainError, RateLimited, Unauthorized

Schema = dict[str, Any]
JSON = "application/json"
TEXT: Schema = {"type": "string"}
# What an authenticated route can answer besides its own errors (chalicelib/web.py).
AUTHENTICATED: tuple[type[DomainError], ...] = (Unauthorized, RateLimited, BackendUnavailable)


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # "path", "query" or "header"
    schema: Schema = field(default_factory=lambda: TEXT)
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Body:
    schema: str | Schema  # a component's name, or a schema
    media: str = JSON
    description: str = ""


@dataclass(frozen=True)
class Reply:
    """An answer other than an error: its body (a component's name or a schema; None for no
    body) in each of its media types, and the headers it sets."""

    description: str
    schema: str | Schema | None = None
    media: tuple[str, ...] = (JSON,)
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    """One operation. `errors` are the domain errors it answers with; an authenticated
    (`secured`) route also answers with AUTHENTICATED's."""

    method: str
    path: str
    op_id: str
    summary: str
    replies: dict[str, Reply]
    errors: tuple[type[DomainError], ...] = ()
    params: tuple[Param, ...] = ()
    body: Body | None = None
    secured: bool = True

    def all_errors(self) -> tuple[type[DomainError], ...]:
        return (*self.errors, *AUTHENTICATED) if self.secured else self.errors
