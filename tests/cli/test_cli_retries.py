"""Retries that never repeat a write which may have happened, through the command, against a
scripted stand-in for the API (the real one cannot be made to answer 503 or lose an answer
on cue): what is retried, what is not, what a retried write that landed looks like."""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.cli import DROP, Cli, Reply, Stub, stub
from support.faults import FaultProxy
from support.local_site import ROOT, running

sys.path.insert(0, str(ROOT / "cli"))

from textfiles_client import exits

FILE = {
    "id": "a" * 32,
    "name": "notes.txt",
    "size": 6,
    "sha256": "0" * 64,
    "etag": '"' + "0" * 64 + '"',
    "version": 1,
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
    "expires_at": "2026-01-31T00:00:00Z",
}
NOW = {"Retry-After": "0"}
UNAVAILABLE: Reply = (
    503,
    NOW,
    {"Code": "ServiceUnavailable", "Message": "The database is unavailable."},
)
LIMITED: Reply = (429, NOW, {"Code": "TooManyRequests", "Message": "Too many requests."})


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Stub, Cli]]:
    with stub() as server:
        server.on("GET", "/usage", (200, {}, {"max_inline_bytes": 4096}))
        server.on("GET", "/files", (200, {}, {"items": [], "next_cursor": None}))
        yield server, Cli(server.base, "tf_k", tmp_path)


def test_a_read_is_retried_on_503_and_a_lost_connection(api: tuple[Stub, Cli]) -> None:
    server, cli = api
    listing: Reply = (200, {}, {"items": [FILE], "next_cursor": None})
    server.on("GET", "/files", UNAVAILABLE, DROP, listing)
    assert cli.run("ls").stdout.endswith("  notes.txt\n")
    assert len(server.requests("GET", "/files")) == 3
    server.on("GET", "/files", UNAVAILABLE)
    down = cli.run("ls", code=exits.UNAVAILABLE)
    assert down.stderr == "textfiles: The database is unavailable.\n"
    assert len(server.requests("GET", "/files")) == 3 + 4  # tried, then 3 retries


def test_a_create_that_may_have_run_is_retried_with_its_key(api: tuple[Stub, Cli]) -> None:
    """The server replays an Idempotency-Key's first answer: a create whose answer was a 503
    or never came is sent again, with the same key (the server makes one file)."""
    server, cli = api
    created = {**FILE, "name": "new.txt"}
    server.on("POST", "/files", UNAVAILABLE, DROP, (201, {"Idempotent-Replayed": "true"}, created))
    done = cli.run("put", "new.txt", "-", stdin=b"hello\n")
    assert done.stdout.startswith("created ")
    posts = server.requests("POST", "/files")
    assert len(posts) == 3 and len({p.headers["Idempotency-Key"] for p in posts}) == 1
    server.on("POST", "/files", DROP)
    lost = cli.run("put", "new.txt", "-", stdin=b"hello\n", code=exits.UNAVAILABLE)
    assert lost.stderr.endswith("(the request may or may not have taken effect)\n")
    assert len(server.requests("POST", "/files")) == 3 + 4  # tried, then 3 retries


def test_a_create_still_running_is_waited_for(api: tuple[Stub, Cli]) -> None:
    server, cli = api
    busy = {"Code": "IdempotencyKeyInUse", "Message": "A request with this key is running."}
    server.on("POST", "/files", DROP, (409, NOW, busy), (201, {}, {**FILE, "name": "new.txt"}))
    assert cli.run("put", "new.txt", "-", stdin=b"hello\n").stdout.startswith("created ")
    assert len(server.requests("POST", "/files")) == 3
    taken = {"Code": "Conflict", "Message": "A file named 'new.txt' already exists."}
    server.on("POST", "/files", (409, {}, taken))
    cli.run("put", "new.txt", "-", stdin=b"hello\n", code=exits.CONFLICT)
    assert len(server.requests("POST", "/files")) == 4  # a taken name is not retried


def test_a_rate_limited_create_is_retried_with_its_idempotency_key(
    api: tuple[Stub, Cli],
) -> None:
    server, cli = api
    created = {**FILE, "name": "new.txt"}
    server.on(
        "POST", "/files", LIMITED, (429, {"Retry-After": "1"}, LIMITED[2]), (201, {}, created)
    )
    done = cli.run("put", "new.txt", "-", stdin=b"hello\n")
    assert done.stdout.startswith("created ")
    assert done.stderr == "textfiles: Too many requests. Retrying in 1 s.\n"
    keys = {seen.headers["Idempotency-Key"] for seen in server.requests("POST", "/files")}
    assert len(server.requests("POST", "/files")) == 3 and len(keys) == 1
    cli.run("put", "other.txt", "-", stdin=b"hello\n")
    again = {seen.headers["Idempotency-Key"] for seen in server.requests("POST", "/files")}
    assert len(again) == 2  # a new operation, a new key
    # A wait longer than the command waits is not waited for.
    server.on("POST", "/files", (429, {"Retry-After": "120"}, LIMITED[2]))
    cli.run("put", "late.txt", "-", stdin=b"hello\n", code=exits.UNAVAILABLE)
    assert len(server.requests("POST", "/files")) == 5


def test_a_replace_whose_answer_was_lost_is_recognised(api: tuple[Stub, Cli]) -> None:
    """The PUT landed but its answer was lost; the retry meets its own If-Match as stale
    (412), and the file holds exactly the body sent: that is a success."""
    server, cli = api
    body = b"new body\n"
    now = {**FILE, "sha256": hashlib.sha256(body).hexdigest(), "version": 2}
    server.on("GET", "/files", (200, {}, {"items": [FILE], "next_cursor": None}))
    stale: Reply = (412, {}, {"Code": "PreconditionFailed", "Message": "The file changed."})
    server.on("PUT", f"/files/{FILE['id']}", DROP, stale)
    server.on("GET", f"/files/{FILE['id']}/metadata", (200, {}, now))
    done = cli.run("put", "notes.txt", "-", stdin=body)
    assert done.stdout.startswith(f"replaced {FILE['id']}")
    puts = server.requests("PUT", f"/files/{FILE['id']}")
    assert [p.headers["If-Match"] for p in puts] == [FILE["etag"]] * 2
    # Someone else's body behind the 412: reported, exit 5.
    server.on("GET", f"/files/{FILE['id']}/metadata", (200, {}, {**now, "sha256": "f" * 64}))
    server.on("PUT", f"/files/{FILE['id']}", DROP, stale)
    other = cli.run("put", "notes.txt", "-", stdin=body, code=exits.CONFLICT)
    assert "changed since it was read" in other.stderr


def test_a_delete_whose_answer_was_lost_is_done(api: tuple[Stub, Cli]) -> None:
    server, cli = api
    server.on("GET", "/files", (200, {}, {"items": [FILE], "next_cursor": None}))
    gone: Reply = (404, {}, {"Code": "NotFound", "Message": "No such file."})
    server.on("DELETE", f"/files/{FILE['id']}", DROP, gone)
    assert cli.run("rm", "notes.txt").stdout == "deleted notes.txt\n"
    assert len(server.requests("DELETE", f"/files/{FILE['id']}")) == 2


def test_quotas_and_keys_have_their_exit_codes(api: tuple[Stub, Cli]) -> None:
    server, cli = api
    full = {"Code": "QuotaExceeded", "Message": "The files quota is full (10 of 10)."}
    server.on("POST", "/files", (403, {}, full))
    quota = cli.run("put", "new.txt", "-", stdin=b"x\n", code=exits.LIMIT)
    assert quota.stderr == "textfiles: The files quota is full (10 of 10).\n"
    assert len(server.requests("POST", "/files")) == 1
    server.on("GET", "/files", (401, {}, {"Code": "Unauthorized", "Message": "Bad key."}))
    cli.run("ls", code=exits.AUTH)
    assert len(server.requests("GET", "/files")) == 2  # one for put's lookup, one for ls


# ---- against the service: a lost answer, for real -----------------------------------------


@pytest.mark.parametrize("backend", ["embedded", "real"])
def test_a_create_whose_answer_was_lost_makes_one_file(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fault_proxy: Callable[[tuple[str, int]], FaultProxy],
) -> None:
    """`chalice local` runs the create (a PUT by name), then a copy (a POST with its
    Idempotency-Key); each answer is swallowed on the way back (the command sees the
    connection close). The command sends each again: one file each, the copy's first answer
    replayed for its key."""
    settings = request.getfixturevalue("real_settings") if backend == "real" else None
    tenant = f"retries-{uuid.uuid4().hex[:12]}"  # one database serves the session's servers
    with running(tmp_path / "data", settings, tenant) as (base, key):
        server = urllib.parse.urlsplit(base)
        proxy = fault_proxy((str(server.hostname), int(server.port or 80)))
        cli = Cli(f"http://{proxy.address}", key, tmp_path)
        lost = proxy.drop_reply_after(b"PUT /names/once.txt")
        done = cli.run("put", "once.txt", "-", stdin=b"exactly once\n")
        assert lost.is_set()  # the first answer never reached the command: it was sent again
        # PUT is idempotent: the retry writes the same bytes again (the command cannot tell
        # whether the first one landed, so it reports what the retry did).
        assert done.stdout.startswith(("created ", "replaced "))
        copy_lost = proxy.drop_reply_after(b"/copy?name=twice.txt")
        copied = cli.run("cp", "once.txt", "twice.txt")
        assert copy_lost.is_set() and copied.stdout.startswith("copied once.txt to ")
        listing = cli.run("ls", "--json")
        assert sorted(item["name"] for item in json.loads(listing.stdout)) == [
            "once.txt",
            "twice.txt",
        ]
        assert cli.run("get", "once.txt").stdout == "exactly once\n"
