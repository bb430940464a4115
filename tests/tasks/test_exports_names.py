"""Exports: every file under its own, reversible entry name; archives within their quota.
On the embedded drivers and on real backends (the in-process queue runs the export)."""

from __future__ import annotations

import io
import zipfile
from typing import Any
from urllib.parse import unquote

import pytest
from test_tasks import download

from conftest import FakeClock
from support.api import Api

# Names that a careless mapping sends to one entry ("." and "_." once did), and names that
# unpack badly or hold the escape character itself.
NAMES = [
    ".",
    "_.",
    "..",
    "_..",
    "...",
    "%2E",
    "%252E",
    "%",
    "100%.txt",
    "a.",
    "a",
    "a ",
    "a%20",
    "back\\slash",
    "back%5Cslash",
    "c:drive",
    'q?"<*>|.txt',
    "résumé — 履歴書.txt",
    " leading space",
]


def export(api: Api) -> dict[str, Any]:
    """Start an export and let the in-process queue run it to the end."""
    from chalicelib.queue import queue

    reply = api.call("POST", "/exports")
    assert reply.status == 202, reply.body
    inline: Any = queue()
    assert inline.drain(60)
    shown = api.get(f"/tasks/{reply.json['id']}")
    assert shown.status == 200 and shown.json["state"] == "succeeded", shown.body
    result: dict[str, Any] = shown.json["result"]
    return result


def test_every_name_has_its_own_entry_and_decodes_back(api: Api, backend: str) -> None:
    bodies = {name: f"body of {name!r}\n".encode() for name in NAMES}
    for name, body in bodies.items():
        api.created(name, body)

    archive = zipfile.ZipFile(io.BytesIO(download(api, export(api)["download_url"])))

    entries = archive.namelist()
    assert len(entries) == len(set(entries)) == len(NAMES)
    assert {unquote(entry): archive.read(entry) for entry in entries} == bodies
    assert archive.getinfo("%2E").file_size == len(bodies["."])
    assert archive.getinfo("_%2E").file_size == len(bodies["_."])
    for entry in entries:  # nothing that unpacks outside the folder or clashes on Windows
        assert entry.strip(".") and not set('\\:*?"<>|') & set(entry)
        assert not entry.endswith((".", " "))


def test_archive_names_and_quota_are_documented() -> None:
    from pathlib import Path

    readme = Path(__file__).resolve().parents[2].joinpath("docs", "tasks.md").read_text()
    assert "unquote" in readme and "QUOTA_MAX_EXPORTS" in readme


def test_export_archives_have_a_quota(
    api: Api, other_api: Api, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUOTA_MAX_EXPORTS", "2")
    api.created("one.txt", "1")
    export(api)
    export(api)

    refused = api.call("POST", "/exports")

    assert refused.status == 403, refused.body
    assert refused.json["Code"] == "QuotaExceeded"
    assert (refused.json["quota"], refused.json["used"], refused.json["limit"]) == (
        "exports",
        2,
        2,
    )
    assert api.get("/usage").json["exports"] == {"used": 2, "limit": 2}  # seen coming
    assert other_api.call("POST", "/exports").status == 202  # per tenant
    clock.advance(7 * 86_400 + 60)  # the archives' retention is over: room again
    assert api.call("POST", "/exports").status == 202
