"""--watch: a thread holds a long poll on the feed (GET /changes?wait=) and says when something
changed; the folder is polled by its files' names, sizes and mtimes."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from textfiles_client.client import ApiError, Client
from textfiles_client.sync.state import ours

WAIT = 20  # seconds a long poll is held (the feed allows 0..20)
BACKOFF = 5.0


def folder_signature(folder: Path) -> frozenset[tuple[str, int, int]]:
    found = set()
    for item in os.scandir(folder):
        if not ours(item.name):
            info = item.stat(follow_symlinks=False)
            found.add((item.name, info.st_size, info.st_mtime_ns))
    return frozenset(found)


class FeedWaiter:
    """`changed` is set when the feed has something after the cursor given to `follow`."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.client.retries = 0
        self.changed = threading.Event()
        self._cursor: str | None = None
        self._fresh = threading.Event()
        threading.Thread(target=self._run, name="feed", daemon=True).start()

    def follow(self, cursor: str | None) -> None:
        self._cursor = cursor
        self.changed.clear()
        self._fresh.set()

    def _run(self) -> None:
        while True:
            self._fresh.wait()
            cursor = self._cursor
            try:
                page = self.client.list_changes(cursor=cursor, limit=1, wait=WAIT)
            except ApiError:
                time.sleep(BACKOFF)  # a 410 too: the next pass starts from a listing
                self._signal(cursor)
                continue
            if page["items"]:
                self._signal(cursor)

    def _signal(self, cursor: str | None) -> None:
        """Once per cursor: then wait for the next `follow`."""
        if cursor == self._cursor:
            self._fresh.clear()
            self.changed.set()
