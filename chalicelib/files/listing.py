"""Listing a tenant's files: newest first, by name prefix or by words, a keyset page at a time."""

from __future__ import annotations

from chalicelib import clock
from chalicelib.files import store
from chalicelib.files.rules import (
    DEFAULT_LIMIT,
    FileMeta,
    check_prefix,
    decode_cursor,
    encode_cursor,
    search_terms,
)
from chalicelib.files.rules import parse_limit as parse_limit  # named here for app.py
from chalicelib.tenants.apikeys import Tenant


def list_files(
    tenant: Tenant,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
    prefix: str | None = None,
    q: str | None = None,
) -> tuple[list[FileMeta], str | None]:
    """A page of live files, newest first, and the cursor of the next page (None: the last)."""
    items = store.repository().page(
        tenant.id,
        clock.now_us(),
        limit + 1,
        prefix=check_prefix(prefix) if prefix else None,
        after=decode_cursor(cursor) if cursor else None,
        terms=search_terms(q) if q is not None else None,
    )
    next_cursor = encode_cursor(items[limit - 1]) if len(items) > limit else None
    return items[:limit], next_cursor
