"""Every byte an upload link can store is counted against the byte quota until it is deleted
(issue #22, 4 and 5), on the local folder and on S3 (moto)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from test_uploads import _put, _start

from conftest import FakeClock
from support.api import Api
from support.purge import run_purge
from support.threads import join_threads

LIFETIME = 900  # UPLOAD_URL_SECONDS's default


def _tenant(api: Api) -> str:
    from chalicelib.tenants import apikeys

    tenant = apikeys.lookup(apikeys.hash_key(str(api.key)))
    assert tenant is not None
    return tenant.id


def in_storage(api: Api) -> int:
    """The bytes the blob store holds for the tenant, whatever holds them."""
    from chalicelib.blobs import blobs

    prefix, after, total = f"tenants/{_tenant(api)}/", "", 0
    while page := blobs().list_page(prefix, after, 1000):
        total += sum(info.size for info in page)
        after = page[-1].key
    return total


def counted(api: Api) -> int:
    reply = api.get("/usage")
    assert reply.status == 200, reply.body
    used: int = reply.json["bytes"]["used"]
    return used


@pytest.fixture
def small_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTA_MAX_BYTES", "1000")
    monkeypatch.setenv("MAX_INLINE_BYTES", "16")


def test_what_a_link_stores_after_completion_is_counted(
    api: Api, backend: str, small_quota: None
) -> None:
    """The link stays valid after completion: a second PUT stores a staging copy again."""
    upload = _start(api, "done.txt", 600)
    assert _put(api, upload, b"z" * 600) == 200
    assert api.call("POST", upload["complete_url"]).status == 201
    assert _put(api, upload, b"z" * 600) == 200
    assert in_storage(api) == 1200
    assert counted(api) >= in_storage(api)
    assert api.create("more.txt", b"y" * 16).status == 403


def test_an_abandoned_upload_is_counted_until_its_body_is_deleted(
    api: Api, backend: str, small_quota: None, clock: FakeClock
) -> None:
    upload = _start(api, "abandoned.txt", 1000)
    assert _put(api, upload, b"x" * 1000) == 200
    clock.advance(2 * LIFETIME + 1)  # the link, and one lifetime for a transfer under way
    assert in_storage(api) == 1000
    assert counted(api) >= 1000, "still stored: still counted"
    run_purge()
    assert (in_storage(api), counted(api)) == (0, 0), "deleted, then no longer counted"
    assert api.create("now.txt", b"y" * 16).status == 201


def test_a_completion_that_outlives_its_reservation_is_checked_in_full(
    api: Api, backend: str, small_quota: None, clock: FakeClock, pause_points: Any
) -> None:
    """Issue #22, 5: the reservation ended while the completion was under way; filing still
    took it off the file's size, and the tenant held 2,000 bytes under a 1,000-byte quota."""
    upload = _start(api, "late.txt", 1000)
    assert _put(api, upload, b"x" * 1000) == 200
    held = pause_points.arm("uploads.complete.filing")
    replies: list[Any] = []
    thread = threading.Thread(
        target=lambda: replies.append(api.call("POST", upload["complete_url"]))
    )
    thread.start()
    assert held.wait_reached(10), "the completion read and validated the body"
    clock.advance(2 * LIFETIME + 1)
    run_purge()  # the staging body is deleted: the reservation ends
    assert api.create("inline.txt", b"y" * 16).status == 201, "room again"
    held.release()
    join_threads(thread)
    assert replies[0].status == 403, replies[0].body
    assert replies[0].json["quota"] == "bytes"
    assert counted(api) <= 1000
    assert in_storage(api) <= counted(api)
