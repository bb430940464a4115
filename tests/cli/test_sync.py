"""`textfiles sync DIR` end to end: `textfiles` processes against `chalice local` of the app,
on the embedded drivers and on real PostgreSQL + memcached + moto S3, each test with a tenant
of its own. Two folders synced through the service: edits on both sides, a conflict, deletes
both ways, a rename, large bodies through links, an interruption (the process killed) and the
resume, --dry-run, --json, --watch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import Cli, stub
from support.local_site import INLINE_LIMIT, ROOT, running, server_env

sys.path.insert(0, str(ROOT / "cli"))

from textfiles_client import exits
from textfiles_client.client import Client

STATE = ".textfiles-sync.json"
LARGE = b"a line of a body above the inline limit, through links both ways\n" * 100


class SyncCli(Cli):
    """`textfiles` against a server of a tenant of its own, whose limits a test may set."""

    def __init__(self, base: str, key: str, folder: Path, tenant: str, env: dict[str, str]):
        super().__init__(base, key, folder)
        self.tenant, self.server_env = tenant, env

    def limits(self, *flags: str) -> None:
        """What `make limits` runs: the operator's admin command."""
        admin = [sys.executable, "-m", "chalicelib.edge.admin", "limits", self.tenant, *flags]
        subprocess.run(admin, cwd=ROOT, env=self.server_env, check=True, capture_output=True)


@pytest.fixture(params=["embedded", "real"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SyncCli]:
    settings = request.getfixturevalue("real_settings") if request.param == "real" else None
    tenant = f"sync-{uuid.uuid4().hex[:12]}"  # a real database is shared: a tenant alone
    with running(tmp_path / "data", settings, tenant) as (base, key):
        yield SyncCli(base, key, tmp_path, tenant, server_env(tmp_path / "data", settings))


def api(cli: Cli) -> Client:
    return Client(cli.env["TEXTFILES_URL"], cli.env["TEXTFILES_KEY"])


def service(cli: Cli) -> dict[str, bytes]:
    """Every file in the service, name to body."""
    client = api(cli)
    items = client.list_files(limit=1000)["items"]
    return {item["name"]: client.read_file(item["id"]) for item in items}


def folder(path: Path) -> dict[str, bytes]:
    """Every file in a synced folder but the sync's own, name to body."""
    if not path.exists():
        return {}
    # The state, and a running sync's lock and temporary files.
    files = [p for p in path.iterdir() if p.is_file() and p.name != STATE]
    return {p.name: p.read_bytes() for p in files if not p.name.startswith(".textfiles-sync-")}


def sync(cli: Cli, where: Path, *args: str, code: int = 0) -> list[dict[str, object]]:
    """`textfiles sync WHERE --json`: its actions, one JSON object per line."""
    done = cli.run("sync", str(where), "--json", *args, code=code)
    return [json.loads(line) for line in done.stdout.splitlines()]


def acts(lines: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(a["action"], a["name"]) for a in lines if a.get("action", "summary") != "summary"]


def test_two_folders_kept_in_step_through_the_service(cli: Cli) -> None:
    a, b = cli.folder / "a", cli.folder / "b"
    assert acts(sync(cli, a)) == [] and (a / STATE).exists()  # created, empty, in step
    (a / "notes.txt").write_text("milk\n")
    (a / "big.txt").write_bytes(LARGE)
    assert len(LARGE) > INLINE_LIMIT
    assert sorted(acts(sync(cli, a))) == [("create", "big.txt"), ("create", "notes.txt")]
    assert service(cli) == {"notes.txt": b"milk\n", "big.txt": LARGE}

    first = sync(cli, b)  # a first run downloads everything, large ones through their link
    assert sorted(acts(first)) == [("download", "big.txt"), ("download", "notes.txt")]
    assert first[-1] == {"action": "summary", "files": 2, "skipped": 0}
    assert folder(b) == folder(a)
    assert acts(sync(cli, b)) == []  # nothing to do: nothing done

    # An edit in b reaches a; an edit made in the service reaches both.
    (b / "notes.txt").write_text("milk\neggs\n")
    assert acts(sync(cli, b)) == [("upload", "notes.txt")]
    assert acts(sync(cli, a)) == [("download", "notes.txt")]
    assert (a / "notes.txt").read_text() == "milk\neggs\n"
    client = api(cli)
    big = next(f for f in client.list_files()["items"] if f["name"] == "big.txt")
    client.replace_file(big["id"], b"small now\n", big["etag"])
    assert acts(sync(cli, a)) == [("download", "big.txt")]
    assert (a / "big.txt").read_bytes() == b"small now\n"

    # A rename here is a rename in the service (same id), and a move in the other folder.
    notes = next(f for f in client.list_files()["items"] if f["name"] == "notes.txt")
    os.rename(a / "notes.txt", a / "shopping.txt")
    assert acts(sync(cli, a)) == [("rename", "shopping.txt")]
    renamed = next(f for f in client.list_files()["items"] if f["name"] == "shopping.txt")
    assert renamed["id"] == notes["id"]  # the same file, not a new one
    assert sorted(acts(sync(cli, b))) == [("download", "big.txt"), ("move", "shopping.txt")]
    assert folder(b) == folder(a) == service(cli)

    # Deletes both ways.
    (b / "shopping.txt").unlink()
    assert acts(sync(cli, b)) == [("delete", "shopping.txt")]
    assert acts(sync(cli, a)) == [("remove", "shopping.txt")]
    client.delete_file(big["id"])
    assert acts(sync(cli, b)) == [("remove", "big.txt")]
    assert folder(a) == {"big.txt": b"small now\n"} and folder(b) == {} == service(cli)
    assert acts(sync(cli, a)) == [("remove", "big.txt")]
    assert folder(a) == {}


def test_a_conflict_keeps_both_versions_on_both_sides(cli: Cli) -> None:
    a, b = cli.folder / "a", cli.folder / "b"
    a.mkdir()
    (a / "plan.md").write_text("v1\n")
    sync(cli, a)
    sync(cli, b)
    (a / "plan.md").write_text("v2 from a\n")
    (b / "plan.md").write_text("v2 from b\n")
    assert acts(sync(cli, a)) == [("upload", "plan.md")]
    lines = sync(cli, b)
    conflict = next(x for x in lines if x["action"] == "conflict")
    kept = str(conflict["kept"])
    assert conflict["name"] == "plan.md" and kept.startswith("plan (conflict ")
    assert kept.endswith(").md") and "changed here and in the service" in str(conflict["detail"])
    # The service's version under the name; b's beside it, here and (pushed) in the service.
    assert (b / "plan.md").read_text() == "v2 from a\n"
    assert (b / kept).read_text() == "v2 from b\n"
    assert ("create", kept) in acts(lines)
    assert service(cli) == {"plan.md": b"v2 from a\n", kept: b"v2 from b\n"}
    assert acts(sync(cli, a)) == [("download", kept)]
    assert folder(a) == folder(b) == service(cli)
    human = cli.run("sync", str(a)).stdout  # without --json: one line of summary
    assert human == f"{a}: 2 files in step\n"


def test_an_edit_made_meanwhile_in_the_service_is_never_overwritten(cli: Cli) -> None:
    """The push's If-Match is the ETag the state recorded: a write in between is a 412, and
    the next pass makes it a conflict rather than losing it."""
    a = cli.folder / "a"
    a.mkdir()
    (a / "log.txt").write_text("one\n")
    sync(cli, a)
    client = api(cli)
    [meta] = client.list_files()["items"]
    client.replace_file(meta["id"], b"from elsewhere\n")
    (a / "log.txt").write_text("mine\n")
    lines = sync(cli, a)
    kept = next(str(x["kept"]) for x in lines if x["action"] == "conflict")
    assert service(cli) == {"log.txt": b"from elsewhere\n", kept: b"mine\n"} == folder(a)


def test_dry_run_changes_nothing_anywhere(cli: Cli) -> None:
    a = cli.folder / "a"
    a.mkdir()
    (a / "keep.txt").write_text("kept\n")
    (a / "gone.txt").write_text("to delete\n")
    sync(cli, a)
    (a / "new.txt").write_text("new here\n")
    (a / "gone.txt").unlink()
    api(cli).create_file("remote.txt", b"new there\n")
    before = (folder(a), (a / STATE).read_bytes(), service(cli))
    lines = sync(cli, a, "--dry-run")
    assert sorted(acts(lines)) == [
        ("create", "new.txt"),
        ("delete", "gone.txt"),
        ("download", "remote.txt"),
    ]
    assert all(x["dry_run"] for x in lines if x["action"] != "summary")
    human = cli.run("sync", str(a), "--dry-run").stdout.splitlines()
    assert sorted(line.split()[:2] for line in human) == [
        ["would", "create"],
        ["would", "delete"],
        ["would", "download"],
    ]
    assert (folder(a), (a / STATE).read_bytes(), service(cli)) == before
    nowhere = sync(cli, cli.folder / "nowhere", "--dry-run")  # a first run, planned only
    assert sorted(acts(nowhere)) == [
        ("download", n) for n in ("gone.txt", "keep.txt", "remote.txt")
    ]
    assert not (cli.folder / "nowhere").exists()


def test_what_cannot_be_synced_is_reported_and_skipped(cli: Cli) -> None:
    a = cli.folder / "a"
    a.mkdir()
    (a / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    (a / "sub").mkdir()
    (a / "fine.txt").write_text("fine\n")
    lines = sync(cli, a, code=exits.PARTIAL)
    skipped = {x["name"]: x["detail"] for x in lines if x.get("action") == "skip"}
    assert skipped["latin1.txt"] == "not UTF-8 text (byte 3)"
    assert lines[-1]["exit"] == exits.PARTIAL and lines[-1]["message"] == (
        "2 files skipped (see above)."
    )
    assert skipped["sub"] == "a folder: not synced (a name in the service holds no /)"
    assert service(cli) == {"fine.txt": b"fine\n"}
    api(cli).create_file(STATE, b"a file named like the sync's state\n")
    api(cli).create_file("é" * 200, b"a name of 200 characters, 400 bytes\n")
    lines = sync(cli, a, code=exits.PARTIAL)
    skipped = {x["name"]: x["detail"] for x in lines if x.get("action") == "skip"}
    assert skipped == {
        STATE: "the name of the sync's own files",
        "é" * 200: "longer than this system's file names (255 bytes)",
        "latin1.txt": "not UTF-8 text (byte 3)",  # each run reports what it skips
        "sub": "a folder: not synced (a name in the service holds no /)",
    }
    assert json.loads((a / STATE).read_text())["format"] == 1  # never overwritten


def test_an_interrupted_sync_resumes_without_losing_or_repeating(cli: Cli) -> None:
    """The process is killed (SIGKILL: no cleanup at all) a few actions into a pull, and
    again into a push; each next run finishes the work, every file exactly once."""
    client = api(cli)
    for n in range(30):
        client.create_file(f"r{n:02}.txt", f"remote {n}\n".encode())
    a = cli.folder / "a"
    _killed_after(cli, a, 3)
    assert 0 < len(folder(a)) < 30  # stopped in the middle
    sync(cli, a)
    assert folder(a) == {f"r{n:02}.txt": f"remote {n}\n".encode() for n in range(30)}
    assert len(json.loads((a / STATE).read_text())["files"]) == 30

    for n in range(30):
        (a / f"l{n:02}.txt").write_text(f"local {n}\n")
    _killed_after(cli, a, 3)
    assert 30 < len(client.list_files(limit=1000)["items"]) < 60
    sync(cli, a)
    listed = client.list_files(limit=1000)["items"]
    assert len(listed) == 60 == len({item["name"] for item in listed})  # none twice
    assert service(cli) == folder(a)
    assert acts(sync(cli, a)) == []
    leftovers = [p.name for p in a.iterdir() if p.name.startswith(".textfiles-sync-")]
    assert leftovers == []


def _killed_after(cli: Cli, where: Path, lines: int) -> None:
    proc = subprocess.Popen(
        [*cli.command(), "sync", str(where), "--json"],
        cwd=cli.folder,
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    for _ in range(lines):
        assert json.loads(proc.stdout.readline())["action"] in ("download", "create")
    proc.kill()
    proc.wait(10)
    proc.stdout.close()


def test_watch_follows_both_sides_until_interrupted(cli: Cli) -> None:
    a = cli.folder / "a"
    client = api(cli)
    client.create_file("before.txt", b"before\n")
    proc = subprocess.Popen(
        [*cli.command(), "sync", str(a), "--watch"],
        cwd=cli.folder,
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _until(lambda: folder(a) == {"before.txt": b"before\n"})
        client.create_file("there.txt", b"made in the service\n")
        _until(lambda: (a / "there.txt").exists())
        (a / "here.txt").write_text("made here\n")
        _until(lambda: "here.txt" in service(cli))
        assert service(cli) == folder(a)
        busy = cli.run("sync", str(a), code=exits.CONFLICT)  # one sync at a time per folder
        assert busy.stderr.startswith(f"textfiles: Another sync (process {proc.pid}) is running")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == exits.INTERRUPTED, (out, err)
    assert err.endswith("textfiles: interrupted\n")
    assert "download       there.txt" in out and "create         here.txt" in out


def _until(check: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.2)


# Runs `textfiles` with the state's save wrapped: the Nth save kills the process (SIGKILL)
# before it writes, so the change it would record is made but not recorded: the worst moment.
CRASHING = """
import os, signal, sys
from textfiles_client import cli
from textfiles_client.sync import state
real, calls = state.save, []
def save(folder, st):
    calls.append(1)
    if len(calls) == int(os.environ["CRASH_AT"]):
        os.kill(os.getpid(), signal.SIGKILL)
    real(folder, st)
state.save = save
sys.exit(cli.main(sys.argv[1:]))
"""


def test_a_sync_killed_between_a_write_and_its_record_resumes_exactly(cli: Cli) -> None:
    """Each of a run's five writes in turn is made in the service and the process killed
    before the state records it; the next run finds its own write and neither repeats nor
    loses anything."""
    for crash_at in range(1, 6):
        a = cli.folder / f"crash{crash_at}"
        a.mkdir()
        p = f"c{crash_at}-"
        for name in ("edit", "gone", "moved"):
            (a / f"{p}{name}.txt").write_text(f"{name} v1\n")
        sync(cli, a)
        (a / f"{p}edit.txt").write_text("edit v2\n")
        (a / f"{p}gone.txt").unlink()
        os.rename(a / f"{p}moved.txt", a / f"{p}moved-to.txt")
        (a / f"{p}new1.txt").write_text("new 1\n")
        (a / f"{p}new2.txt").write_text("new 2\n")
        killed = subprocess.run(
            [sys.executable, "-c", CRASHING, "sync", str(a), "--json"],
            cwd=cli.folder,
            env={**cli.env, "CRASH_AT": str(crash_at)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert len(killed.stdout.splitlines()) == crash_at  # reported, not recorded
        sync(cli, a)
        mine = {k: v for k, v in service(cli).items() if k.startswith(p)}
        assert service(cli) == folder(a)  # (the earlier rounds' files too)
        assert mine == {
            f"{p}edit.txt": b"edit v2\n",
            f"{p}moved-to.txt": b"moved v1\n",
            f"{p}new1.txt": b"new 1\n",
            f"{p}new2.txt": b"new 2\n",
        }
        listed = api(cli).list_files(limit=1000, prefix=p)["items"]
        assert len(listed) == 4  # nothing created twice
        assert acts(sync(cli, a)) == []


def test_a_large_local_edit_goes_through_a_link_or_is_skipped_with_why(cli: Cli) -> None:
    """Replacing a body above the inline limit needs POST /files/{id}/uploads: used where the
    server has it; elsewhere the file is reported and skipped (exit 9), left as it is."""
    a = cli.folder / "a"
    a.mkdir()
    (a / "big.txt").write_text("small at first\n")
    sync(cli, a)
    (a / "big.txt").write_bytes(LARGE)
    if api(cli).offers("POST", "/files/{file_id}/uploads"):
        assert acts(sync(cli, a)) == [("upload", "big.txt")]
        assert service(cli) == {"big.txt": LARGE}
        return
    lines = sync(cli, a, code=exits.PARTIAL)
    [skip] = [x for x in lines if x.get("action") == "skip"]
    assert skip["name"] == "big.txt" and "cannot yet replace a body that large" in str(
        skip["detail"]
    )
    assert service(cli) == {"big.txt": b"small at first\n"}
    assert (a / "big.txt").read_bytes() == LARGE  # the local edit is kept


def test_a_cursor_the_feed_no_longer_keeps_is_a_full_reconcile(tmp_path: Path) -> None:
    """410 Gone on the cursor (30 days of changes purged): the head is taken, then the full
    listing; a known file missing from it is gone, a new one downloaded, an unchanged one
    left alone. (A scripted stand-in: the real feed's 410 needs a month to pass.)"""
    import hashlib

    def meta(file_id: str, name: str, body: bytes) -> dict[str, object]:
        digest = hashlib.sha256(body).hexdigest()
        return {"id": file_id, "name": name, "sha256": digest, "size": len(body)}

    with stub() as server:
        cli = Cli(server.base, "tf_test", tmp_path)
        a = tmp_path / "a"
        a.mkdir()
        (a / "kept.txt").write_text("kept\n")
        (a / "gone.txt").write_text("gone\n")
        known = {
            "k" * 32: {**meta("", "kept.txt", b"kept\n"), "mtime_ns": -1},
            "g" * 32: {**meta("", "gone.txt", b"gone\n"), "mtime_ns": -1},
        }
        for entry in known.values():
            del entry["id"]
        saved = {"format": 1, "url": server.base, "cursor": "old", "files": known}
        (a / STATE).write_text(json.dumps(saved))
        server.on("GET", "/usage", (200, {}, {"max_inline_bytes": 4096, "max_upload_bytes": 9999}))
        server.on("GET", "/openapi.json", (200, {}, {"paths": {}}))
        server.on("GET", "/changes", (410, {}, {"Code": "Gone", "Message": "list again"}))
        server.on("GET", "/changes/latest", (200, {}, {"next_cursor": "head"}))
        listing = [meta("k" * 32, "kept.txt", b"kept\n"), meta("n" * 32, "new.txt", b"new\n")]
        server.on("GET", "/files", (200, {}, {"items": listing, "next_cursor": None}))
        server.on("GET", "/files/" + "n" * 32, (200, {}, b"new\n"))
        lines = sync(cli, a)
        assert sorted(acts(lines)) == [("download", "new.txt"), ("remove", "gone.txt")]
        assert folder(a) == {"kept.txt": b"kept\n", "new.txt": b"new\n"}
        after = json.loads((a / STATE).read_text())
        assert after["cursor"] == "head" and sorted(after["files"]) == ["k" * 32, "n" * 32]
        # The head was taken before the listing, so nothing made meanwhile is missed.
        order = [s.path.split("?")[0] for s in server.seen if s.method == "GET"]
        assert order.index("/changes/latest") < order.index("/files")
        assert not [s for s in server.seen if s.method in ("PUT", "POST", "PATCH", "DELETE")]


def test_a_pull_killed_between_a_change_and_its_record_resumes_exactly(cli: Cli) -> None:
    """The same for each of a run's four local changes pulled from the service (a removal,
    a move, two downloads): the next run finds the folder already changed and records it."""
    client = api(cli)
    for crash_at in range(1, 5):
        a = cli.folder / f"pull{crash_at}"
        p = f"p{crash_at}-"
        ids = {
            name: client.create_file(f"{p}{name}.txt", f"{name} v1\n".encode())["id"]
            for name in ("edit", "gone", "moved")
        }
        sync(cli, a)
        client.replace_file(ids["edit"], b"edit v2\n")
        client.delete_file(ids["gone"])
        client.rename_file(ids["moved"], f"{p}moved-to.txt")
        client.create_file(f"{p}new.txt", b"new\n")
        killed = subprocess.run(
            [sys.executable, "-c", CRASHING, "sync", str(a), "--json"],
            cwd=cli.folder,
            env={**cli.env, "CRASH_AT": str(crash_at)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert len(killed.stdout.splitlines()) == crash_at
        again = acts(sync(cli, a))
        assert not [x for x in again if x[0] in ("conflict", "upload", "create", "delete")]
        assert {k: v for k, v in folder(a).items() if k.startswith(p)} == {
            f"{p}edit.txt": b"edit v2\n",
            f"{p}moved-to.txt": b"moved v1\n",
            f"{p}new.txt": b"new\n",
        }
        assert folder(a) == service(cli)
        assert acts(sync(cli, a)) == []


def test_a_full_quota_is_reported_and_the_rest_synced(cli: SyncCli) -> None:
    cli.limits("--files", "2")
    a = cli.folder / "a"
    a.mkdir()
    for name in ("one.txt", "two.txt", "three.txt"):
        (a / name).write_text(f"{name}\n")
    lines = sync(cli, a, code=exits.PARTIAL)
    skipped = [x for x in lines if x.get("action") == "skip"]
    assert len(skipped) == 1 and "quota" in str(skipped[0]["detail"]).lower()
    assert len(service(cli)) == 2 and skipped[0]["name"] not in service(cli)
    assert (a / str(skipped[0]["name"])).read_text() == f"{skipped[0]['name']}\n"  # kept
    assert lines[-1]["message"] == "1 file skipped (see above)."
    assert [x.get("action") for x in sync(cli, a, code=exits.PARTIAL)] == ["skip", "summary", None]


def test_other_changes_on_both_sides_lose_nothing(cli: SyncCli) -> None:
    """Renamed there and edited here; deleted here and edited there; edited here and deleted
    there: every edit survives, on both sides."""
    a = cli.folder / "a"
    a.mkdir()
    for name in ("renamed.txt", "deleted-here.txt", "deleted-there.txt"):
        (a / name).write_text("v1\n")
    sync(cli, a)
    client = api(cli)
    ids = {f["name"]: f["id"] for f in client.list_files()["items"]}
    client.rename_file(ids["renamed.txt"], "renamed-there.txt")
    (a / "renamed.txt").write_text("edited here\n")
    (a / "deleted-here.txt").unlink()
    client.replace_file(ids["deleted-here.txt"], b"edited there\n")
    client.delete_file(ids["deleted-there.txt"])
    (a / "deleted-there.txt").write_text("edited here too\n")
    assert sorted(acts(sync(cli, a))) == [
        ("create", "deleted-there.txt"),
        ("download", "deleted-here.txt"),
        ("move", "renamed-there.txt"),
        ("upload", "renamed-there.txt"),
    ]
    assert (
        folder(a)
        == service(cli)
        == {
            "renamed-there.txt": b"edited here\n",
            "deleted-here.txt": b"edited there\n",
            "deleted-there.txt": b"edited here too\n",
        }
    )
    renamed = next(f for f in client.list_files()["items"] if f["name"] == "renamed-there.txt")
    assert renamed["id"] == ids["renamed.txt"]  # the edit went to the same file
