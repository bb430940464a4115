"""The client's change-feed operations (GET /changes, /changes/latest), mixed into Client."""

from __future__ import annotations

from typing import Any, cast

from textfiles_client.mixin import Transport, operation
from textfiles_client.types import ChangeList


class ChangeOperations:
    @operation("listChanges")
    def list_changes(
        self: Transport,
        cursor: str | None = None,
        limit: int | None = None,
        wait: int | None = None,
    ) -> ChangeList:
        """The tenant's changes after `cursor`, oldest first; `wait` seconds of long poll."""
        found = self.call("GET", "/changes", cursor=cursor, limit=limit, wait=wait)
        return cast(ChangeList, found)

    @operation("latestChange")
    def latest_change(self: Transport) -> str:
        """A cursor at the head of the feed: follow from now on, without the past."""
        found: Any = self.call("GET", "/changes/latest")
        return str(found["next_cursor"])
