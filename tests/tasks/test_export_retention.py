"""An export's archive is kept until the time its task advertises (issue #22, 8)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from test_tasks import download, task, tenant_of

from conftest import FakeClock
from support.api import Api
from support.purge import run_purge

EXPORT_S = 2 * 3600  # how long the export takes, from opening its multipart upload


def _us(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1_000_000)


@pytest.fixture
def dated_as_s3_dates(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """The blob store dates an object made by a multipart upload from when the upload began, as
    S3 documents (moto and the folder date it at completion), and the export takes EXPORT_S."""
    from chalicelib.blobs import blobs

    store, began = blobs(), {}
    real_start, real_list = store.start_multipart, store.list_page

    def start_multipart(key: str, content_type: str) -> str:
        began[key] = clock.now
        upload: str = real_start(key, content_type)
        clock.advance(EXPORT_S)
        return upload

    def list_page(prefix: str, after: str, limit: int) -> Any:
        page = real_list(prefix, after, limit)
        return [info._replace(modified_us=began.get(info.key, info.modified_us)) for info in page]

    monkeypatch.setattr(store, "start_multipart", start_multipart)
    monkeypatch.setattr(store, "list_page", list_page)


def test_the_purge_keeps_an_archive_until_the_time_its_task_advertises(
    api: Api, backend: str, clock: FakeClock, dated_as_s3_dates: None
) -> None:
    """S3 dates the archive from the start of the export; the purge went by that date and
    removed it up to the export's duration before its `archive_expires_at`."""
    from chalicelib import blobkeys
    from chalicelib.blobs import BlobMissing, blobs
    from chalicelib.queue import queue

    api.created("kept.txt", "in the archive")
    task_id = api.call("POST", "/exports").json["id"]
    inline: Any = queue()
    assert inline.drain(30)
    expires = _us(task(api, task_id)["result"]["archive_expires_at"])
    archive = blobkeys.export_archive(tenant_of(api), task_id)

    clock.now = expires - 60_000_000  # a minute before the advertised time
    run_purge()
    shown = task(api, task_id)["result"]
    assert shown["download_url"], shown
    assert download(api, shown["download_url"])[:2] == b"PK"

    clock.now = expires + 1_000_000
    run_purge()
    with pytest.raises(BlobMissing):
        blobs().head(archive)
    assert task(api, task_id)["result"]["download_url"] is None
