"""POST /files/{id}/copy?name=N: a new file with the same body, copied inside the store and never
through the function; on the folder + SQLite and on S3 (moto) + PostgreSQL + memcached."""

from __future__ import annotations

import os
from typing import Any, cast

import pytest

from support.api import Api


def _copy(api: Api, file_id: str, name: str, headers: dict[str, str] | None = None) -> Any:
    return api.call("POST", f"/files/{file_id}/copy?name={name}", headers=headers)


def _objects(file_id: str) -> list[str]:
    from chalicelib.blobs import blobs

    return [b.key for b in blobs().list("tenants/") if f"/files/{file_id}/" in b.key]


def _all_objects() -> set[str]:
    from chalicelib.blobs import blobs

    return {b.key for b in blobs().list("tenants/")}


class S3Calls:
    """Every S3 operation the service made, by name, as its clients sent them."""

    def __init__(self) -> None:
        self.operations: list[str] = []

    def botocore(self, model: Any, **_: Any) -> None:
        self.operations.append(str(model.name))


@pytest.fixture
def s3_calls(backend: str, monkeypatch: pytest.MonkeyPatch) -> S3Calls:
    """On S3: botocore's client reports each call; the signed client's GetObject is counted."""
    from chalicelib.blobs import blobs

    calls, store = S3Calls(), cast(Any, blobs())
    if backend == "real":
        store.s3.meta.events.register("before-call.s3.*", calls.botocore)
        fast = store.fast
        get = fast.get_object

        def counted(**kwargs: Any) -> Any:
            calls.operations.append("GetObject")
            return get(**kwargs)

        monkeypatch.setattr(fast, "get_object", counted)
    return calls


def test_a_copy_is_a_new_file_with_the_same_body(api: Api, backend: str, s3_calls: S3Calls) -> None:
    body = "a body worth copying: zebra ✓\n".encode() * 20
    source = api.created("source.txt", body)
    reply = _copy(api, source["id"], "copy.txt")
    assert reply.status == 201, reply.body
    copy = reply.json
    assert copy["id"] != source["id"]
    assert (copy["name"], copy["size"], copy["sha256"]) == ("copy.txt", len(body), source["sha256"])
    assert (copy["version"], reply.headers["ETag"]) == (1, source["etag"])
    assert reply.headers["Location"] == f"/files/{copy['id']}"
    if backend == "real":
        assert "CopyObject" in s3_calls.operations
        assert "GetObject" not in s3_calls.operations, s3_calls.operations
    else:  # the folder: the same bytes on disk, never read (a hard link to the same inode)
        from chalicelib.blobs import blobs

        root = cast(Any, blobs()).root
        (src,), (dst,) = _objects(source["id"]), _objects(copy["id"])
        assert os.stat(root / src).st_ino == os.stat(root / dst).st_ino
    assert api.get(f"/files/{copy['id']}").body == body
    found = {m["id"] for m in api.get("/files?q=zebra").json["items"]}
    assert found == {source["id"], copy["id"]}  # the copy's words, copied in the database
    assert api.put(source["id"], "the source changes").status == 200
    assert api.get(f"/files/{copy['id']}").body == body
    assert api.delete(source["id"]).status == 204
    assert api.get(f"/files/{copy['id']}").body == body


def test_copy_refusals(api: Api, other_api: Api, backend: str) -> None:
    source = api.created("a.txt", "aaa")
    api.created("taken.txt", "bbb")
    assert _copy(api, source["id"], "taken.txt").status == 409
    assert _copy(api, source["id"], "a.txt").status == 409
    assert api.call("POST", f"/files/{source['id']}/copy").status == 400
    assert _copy(api, source["id"], "a%2Fb").status == 400
    assert _copy(api, "0123456789abcdef0123456789abcdef", "c.txt").status == 404
    assert _copy(other_api, source["id"], "c.txt").status == 404
    stale = _copy(api, source["id"], "c.txt", {"if-match": '"0000"'})
    assert (stale.status, stale.json["Code"]) == (412, "PreconditionFailed")
    assert _copy(api, source["id"], "c.txt", {"if-match": source["etag"]}).status == 201
    assert api.delete(source["id"]).status == 204
    assert _copy(api, source["id"], "d.txt").status == 404
    assert sorted(m["name"] for m in api.get("/files").json["items"]) == ["c.txt", "taken.txt"]


def test_a_copy_counts_against_the_quotas(
    api: Api, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUOTA_MAX_BYTES", "250")
    source = api.created("a.txt", "x" * 100)
    assert _copy(api, source["id"], "b.txt").status == 201
    before = _all_objects()
    over = _copy(api, source["id"], "c.txt")
    assert (over.status, over.json["quota"]) == (403, "bytes")
    assert api.get("/usage").json["files"]["used"] == 2
    monkeypatch.setenv("QUOTA_MAX_BYTES", "100000")
    monkeypatch.setenv("QUOTA_MAX_FILES", "2")
    assert (_copy(api, source["id"], "c.txt").json["quota"]) == "files"
    assert _all_objects() == before  # each refused copy's object is deleted again
