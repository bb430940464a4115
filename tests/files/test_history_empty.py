"""An empty file goes to the trash and comes back like any other (S3 answers a range read of
an empty object with 416: the restore's re-indexing must not turn that into a 503)."""

from __future__ import annotations

from support.api import Api


def test_an_empty_file_is_restored_from_the_trash(api: Api) -> None:
    meta = api.created("empty.txt", b"")
    assert api.delete(meta["id"]).status == 204
    restored = api.call("POST", f"/trash/{meta['id']}/restore")
    assert restored.status == 200, restored.body
    assert api.get(f"/files/{meta['id']}").body == b""
