"""Bad input is a 4xx, never a 500: query parameters, cursors, JSON bodies and path ids,
on the embedded drivers and on real backends (PostgreSQL rejects what SQLite lets through).

Path parameters reach the function already percent-decoded by API Gateway; the test client
passes them as written, so a NUL in an id is written here as a NUL, not as ``%00``.
"""

from __future__ import annotations

import base64
import json

import pytest

from support.api import Api

ID = "0" * 32


def cursor_of(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "limit",
    ["%C2%B2", "%E2%91%A0", "%D9%A3", "1" * 5000, "9" * 20, "-1", "0", "1.5", "", " 1", "+1"],
)
def test_bad_limit_is_400(api: Api, limit: str) -> None:
    reply = api.get(f"/files?limit={limit}")
    assert reply.status == 400, reply.body
    assert reply.json["Code"] == "BadRequest"


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param(cursor_of([2**63, ID]), id="2**63"),
        cursor_of([2**64 + 5, ID]),
        cursor_of([-(2**63) - 1, ID]),
        cursor_of([True, ID]),
        cursor_of([1, True]),
        cursor_of([1, "ab\x00cd"]),
        cursor_of([1, "not-a-file-id"]),
        cursor_of([1.5, ID]),
        cursor_of([1, ID, 3]),
        cursor_of({"a": 1}),
        pytest.param(cursor_of(b"[" * 100_000 + b"]" * 100_000), id="deeply-nested"),
        cursor_of(b"\xff\xfe"),
        "!!!",
        "x" * 5000,
    ],
)
def test_bad_cursor_is_400(api: Api, cursor: str) -> None:
    reply = api.get(f"/files?cursor={cursor}")
    assert reply.status == 400, reply.body
    assert reply.json["Code"] == "BadRequest"


def test_a_real_cursor_still_pages(api: Api) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        api.created(name)
    first = api.get("/files?limit=2").json
    rest = api.get(f"/files?limit=2&cursor={first['next_cursor']}").json
    assert [m["name"] for m in first["items"] + rest["items"]] == ["c.txt", "b.txt", "a.txt"]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("prefix", ["%00", "a%00b", "%01", "%7F"])
def test_prefix_with_a_control_character_is_400(api: Api, prefix: str) -> None:
    reply = api.get(f"/files?prefix={prefix}")
    assert reply.status == 400, reply.body
    assert "control" in reply.json["Message"]


def test_search_with_nul_is_fine(api: Api) -> None:
    api.created("milk.txt", "milk and eggs")
    reply = api.get("/files?q=milk%00eggs")
    assert reply.status == 200, reply.body
    assert [m["name"] for m in reply.json["items"]] == ["milk.txt"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
        b'{"name": "a\\u0000b"}',
        b'{"name": "\\ud800"}',
        b"\xef\xbb\xbf{}",
    ],
)
def test_patch_with_bad_json_is_400(api: Api, body: bytes) -> None:
    meta = api.created("p.txt")
    reply = api.call("PATCH", f"/files/{meta['id']}", body, {"content-type": "application/json"})
    assert reply.status == 400, reply.body
    assert api.get(f"/files/{meta['id']}/metadata").json["name"] == "p.txt"


BAD_IDS = ["ab\x00cd", "\x00", ID[:-1] + "\x00", "A" * 32, "x" * 300]


@pytest.mark.parametrize("file_id", BAD_IDS)
def test_file_routes_with_a_bad_id_are_404(api: Api, file_id: str) -> None:
    api.created("keep.txt")
    assert api.get(f"/files/{file_id}").status == 404
    assert api.get(f"/files/{file_id}/metadata").status == 404
    assert api.put(file_id, "new body").status == 404
    assert api.rename(file_id, "other.txt").status == 404
    assert api.delete(file_id).status == 404
    assert [m["name"] for m in api.get("/files").json["items"]] == ["keep.txt"]


@pytest.mark.parametrize("upload_id", BAD_IDS)
def test_upload_completion_with_a_bad_id_is_404(api: Api, upload_id: str) -> None:
    reply = api.call("POST", f"/files/uploads/{upload_id}/complete")
    assert reply.status == 404, reply.body


@pytest.mark.parametrize("task_id", BAD_IDS)
def test_task_routes_with_a_bad_id_are_404(api: Api, task_id: str) -> None:
    assert api.get(f"/tasks/{task_id}").status == 404
    assert api.call("DELETE", f"/tasks/{task_id}").status == 404
