"""Files by name (GET, HEAD, PUT, DELETE /names/{name}): the id routes' use cases, reached
through the name the tenant's unique index holds, with the same preconditions (docs/writes.md).

A name in a path arrives percent-encoded from every server we run (API Gateway, `chalice
local`, `make run`, the test client): it is decoded here, once.
"""

from __future__ import annotations

from urllib.parse import unquote

from chalicelib import clock, config, racepoints
from chalicelib.errors import BadRequest, Conflict, NotFound, PreconditionFailed
from chalicelib.files import store, writes
from chalicelib.files.rules import (
    FileMeta,
    create_only,
    require_if_match,
    validate_body,
    validate_name,
)
from chalicelib.tenants.apikeys import Tenant

ATTEMPTS = 3  # a name taken, freed or moved under a writer: looked up again this many times


def decoded(raw: str) -> str:
    """The name a path segment holds (percent-encoded UTF-8; `%2F` is a `/`), checked."""
    try:
        name = unquote(raw, errors="strict")
    except UnicodeDecodeError as exc:
        raise BadRequest("The name in the path is not percent-encoded UTF-8.") from exc
    return validate_name(name)


def _named(tenant: Tenant, name: str) -> FileMeta | None:
    return store.repository().named(tenant.id, name, clock.now_us())


def find(tenant: Tenant, raw: str) -> FileMeta:
    """The tenant's live file of that name."""
    name = decoded(raw)
    meta = _named(tenant, name)
    if meta is None:
        raise NotFound(f"No file named {name!r}.")
    return meta


def put(
    tenant: Tenant, raw: str, body: bytes, if_match: str | None, if_none_match: str | None
) -> tuple[FileMeta, bool]:
    """Create the file (True) or replace its body (False). If-None-Match: * creates only;
    If-Match replaces only what it names. A name that changes hands meanwhile is looked up
    again (and If-Match checked again): a file renamed away is never the one written."""
    name = decoded(raw)
    validate_body(body, config.max_inline_bytes())
    fresh_only = create_only(if_none_match)
    for _attempt in range(ATTEMPTS):
        current = _named(tenant, name)
        racepoints.point("files.names.looked_up")
        if current is None:
            try:
                return _create(tenant, name, body, if_match, fresh_only), True
            except Conflict:
                continue  # created meanwhile: replace it
        if fresh_only:
            raise writes.exists(f"A file named {name!r}")
        require_if_match(current, if_match)
        try:
            return writes.replace(tenant, current.id, body, current.record_etag), False
        except (NotFound, PreconditionFailed):
            continue  # deleted, renamed or replaced meanwhile: look again
    raise Conflict(f"The file named {name!r} is being changed by others; retry.")


def _create(
    tenant: Tenant, name: str, body: bytes, if_match: str | None, fresh_only: bool
) -> FileMeta:
    if if_match is not None:
        raise PreconditionFailed(f"No file is named {name!r} (If-Match needs a current file).")
    try:
        return writes.create(tenant, name, body)
    except Conflict:
        if fresh_only:  # another writer took the name first: this one is create-only
            raise writes.exists(f"A file named {name!r}") from None
        raise


def delete(tenant: Tenant, raw: str, if_match: str | None) -> None:
    """To the trash, as DELETE /files/{id}: only the file the name holds (looked up again if it
    changes meanwhile), under If-Match checked against it."""
    for _attempt in range(ATTEMPTS):
        current = find(tenant, raw)
        require_if_match(current, if_match)
        try:
            writes.delete(tenant, current.id, current.record_etag)
            return
        except (NotFound, PreconditionFailed):
            continue  # renamed, replaced or deleted meanwhile: look again
    raise Conflict("The file is being changed by others; retry.")
