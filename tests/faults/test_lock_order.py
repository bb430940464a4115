"""Writers of one file take the tenant's row before the file's, on real PostgreSQL with the
writers in separate processes (each `chalice local` has its own connection, as each Lambda
instance does). A delete that took the file's row first and a replace that took the tenant's
row first waited for each other until PostgreSQL broke the deadlock: a 503 for a valid
request. Now the replace waits for the delete and answers what is true after it: 404."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from support.api import Api
from support.chalice_local import ChaliceLocal
from support.net import ServerUnavailable, unavailable
from support.threads import join_threads

pytestmark = pytest.mark.parametrize("backend", ["real"], indirect=True)


@pytest.fixture
def other_process(backend: str) -> Iterator[ChaliceLocal]:
    server = ChaliceLocal({k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA")})
    try:
        server.start()
        yield server
    except ServerUnavailable as exc:
        unavailable("chalice local", str(exc))
    finally:
        server.stop()


def _replace(base: str, key: str, file_id: str) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{base}/files/{file_id}",
        data=b"two",
        method="PUT",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "text/plain"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_replace_racing_a_delete_waits_for_it_and_is_404_not_503(
    api: Api, other_process: ChaliceLocal, pause_points: Any
) -> None:
    meta = api.created("contended.txt", "one")
    held = pause_points.arm("files.delete.removed")
    deleted: list[Any] = []
    deleting = threading.Thread(target=lambda: deleted.append(api.delete(meta["id"])))
    deleting.start()
    assert held.wait_reached(10), "the delete never removed the row"
    replaced: list[int] = []
    replacing = threading.Thread(
        target=lambda: replaced.append(_replace(other_process.base, str(api.key), meta["id"]))
    )
    replacing.start()
    time.sleep(1.0)  # the replace is now waiting on a lock the delete holds
    held.release()
    join_threads(deleting, replacing)
    assert deleted[0].status == 204, deleted[0].body
    assert replaced == [404]
    trashed = api.get("/trash").json["items"]
    assert [item["id"] for item in trashed] == [meta["id"]]
