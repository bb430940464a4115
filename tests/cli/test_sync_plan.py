"""`textfiles sync`'s plan: what each combination of a change here and a change in the service
turns into (a pure function of the state, the folder and the feed; test_sync.py runs it all
end to end)."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from support.local_site import ROOT

sys.path.insert(0, str(ROOT / "cli"))

from textfiles_client.sync import files, scan
from textfiles_client.sync.plan import Views, plan
from textfiles_client.sync.remote import RemoteFile
from textfiles_client.sync.scan import LocalFile
from textfiles_client.sync.state import Entry


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def entry(name: str, body: str) -> Entry:
    return Entry(name, sha(body), len(body), 1)


def here(name: str, body: str, problem: str | None = None) -> LocalFile:
    return LocalFile(name, sha(body), len(body), 2, problem)


def there(file_id: str, name: str, body: str) -> RemoteFile:
    return RemoteFile(file_id, name, sha(body), len(body))


def kinds(
    known: dict[str, Entry],
    remote: Mapping[str, RemoteFile | None],
    local: list[LocalFile],
    full: bool = False,
) -> list[tuple[str, str]]:
    views = Views(known, dict(remote), full, {f.name: f for f in local})
    return [(a.kind, a.name) for a in plan(views)]


A = {"a": entry("a.txt", "one")}


def test_nothing_changed_is_nothing_to_do() -> None:
    assert kinds(A, {}, [here("a.txt", "one")]) == []
    assert kinds(A, {"a": there("a", "a.txt", "one")}, [here("a.txt", "one")]) == []


@pytest.mark.parametrize(
    ("remote", "local", "expected"),
    [
        (there("a", "a.txt", "two"), [here("a.txt", "one")], [("download", "a.txt")]),
        (there("a", "b.txt", "one"), [here("a.txt", "one")], [("move", "b.txt")]),
        (None, [here("a.txt", "one")], [("remove", "a.txt")]),
    ],
)
def test_a_change_in_the_service_only_is_pulled(
    remote: RemoteFile | None, local: list[LocalFile], expected: list[tuple[str, str]]
) -> None:
    assert kinds(A, {"a": remote}, local) == expected


def test_a_change_here_only_is_pushed_guarded_by_the_recorded_etag() -> None:
    views = Views(A, {}, False, {"a.txt": here("a.txt", "two")})
    [upload] = plan(views)
    assert (upload.kind, upload.file_id, upload.base) == ("upload", "a", A["a"])
    assert upload.base is not None and upload.base.etag == f'"{sha("one")}"'
    assert kinds(A, {}, []) == [("delete", "a.txt")]
    assert kinds(A, {}, [here("b.txt", "one")]) == [("rename", "b.txt")]
    # Another body under a new name is no rename: a delete and a create.
    assert kinds(A, {}, [here("b.txt", "other")]) == [("delete", "a.txt"), ("create", "b.txt")]


def test_changes_on_both_sides() -> None:
    # Different bodies: a conflict (the local copy is moved aside when applied).
    assert kinds(A, {"a": there("a", "a.txt", "two")}, [here("a.txt", "three")]) == [
        ("conflict", "a.txt")
    ]
    # The same body: recorded, nothing sent.
    assert kinds(A, {"a": there("a", "a.txt", "two")}, [here("a.txt", "two")]) == [
        ("same", "a.txt")
    ]
    # Edited here, deleted there: uploaded again as a new file.
    assert kinds(A, {"a": None}, [here("a.txt", "two")]) == [
        ("forget", "a.txt"),
        ("create", "a.txt"),
    ]
    # Deleted here, edited there: downloaded again. Deleted on both: forgotten.
    assert kinds(A, {"a": there("a", "a.txt", "two")}, []) == [("download", "a.txt")]
    assert kinds(A, {"a": None}, []) == [("forget", "a.txt")]
    # Renamed there, edited here: moved to the new name, then the edit uploaded.
    assert kinds(A, {"a": there("a", "b.txt", "one")}, [here("a.txt", "two")]) == [
        ("move", "b.txt"),
        ("upload", "b.txt"),
    ]


def test_new_files_on_either_side() -> None:
    new = {"n": there("n", "n.txt", "new")}
    assert kinds({}, new, []) == [("download", "n.txt")]
    assert kinds({}, new, [here("n.txt", "new")]) == [("same", "n.txt")]
    # Another body under the same name: downloaded (the local one is moved aside then).
    assert kinds({}, new, [here("n.txt", "mine")]) == [("download", "n.txt")]
    assert kinds({}, {}, [here("m.txt", "mine")]) == [("create", "m.txt")]


def test_a_full_listing_without_a_known_file_means_it_is_gone() -> None:
    assert kinds(A, {}, [here("a.txt", "one")], full=True) == [("remove", "a.txt")]
    listed = {"a": there("a", "a.txt", "one")}
    assert kinds(A, listed, [here("a.txt", "one")], full=True) == []


def test_what_cannot_be_synced_is_skipped() -> None:
    bad = here("bin.dat", "x", "not UTF-8 text (byte 0)")
    assert kinds({}, {}, [bad]) == [("skip", "bin.dat")]
    assert kinds({}, {"s": there("s", ".textfiles-sync.json", "x")}, []) == [
        ("skip", ".textfiles-sync.json")
    ]
    assert kinds({}, {"l": there("l", "é" * 200, "x")}, []) == [("skip", "é" * 200)]


def test_the_folder_scan_hashes_and_judges_local_files(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("fine\n")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    (tmp_path / "nul.txt").write_bytes(b"a\x00b")
    (tmp_path / "sub").mkdir()
    (tmp_path / ".textfiles-sync.json").write_text("{}")
    found, others = scan.scan(tmp_path, {})
    assert sorted(found) == ["latin1.txt", "nul.txt", "ok.txt"]
    assert found["ok.txt"].sha256 == sha("fine\n") and found["ok.txt"].problem is None
    assert found["latin1.txt"].problem == "not UTF-8 text (byte 3)"
    assert found["nul.txt"].problem == "not plaintext (it holds a NUL byte)"
    assert [name for name, _ in others] == ["sub"]


def test_a_conflict_name_keeps_the_extension_and_is_free(tmp_path: Path) -> None:
    first = files.conflict_name(tmp_path, "notes.txt")
    assert first.startswith("notes (conflict ") and first.endswith(").txt")
    (tmp_path / first).write_text("x")
    second = files.conflict_name(tmp_path, "notes.txt")
    assert second != first and second.endswith(" 2).txt")
    assert len(files.conflict_name(tmp_path, "a" * 250 + ".md").encode()) <= 255
