"""`textfiles put NAME [FILE|-]`: create or replace by name against the real app, never
overwriting a change made meanwhile; large bodies through upload links."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import DROP, Cli, Reply, started_cli, stub
from support.local_site import INLINE_LIMIT, ROOT

sys.path.insert(0, str(ROOT / "cli"))

from textfiles_client import exits, names
from textfiles_client.client import ApiError, Client, ProgressFn
from textfiles_client.types import File


@pytest.fixture(params=["embedded", "real"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    settings = request.getfixturevalue("real_settings") if request.param == "real" else None
    with started_cli(tmp_path / "data", settings, tmp_path) as cli:
        yield cli


def _meta(cli: Cli, name: str) -> dict[str, object]:
    listed = json.loads(cli.run("ls", "--prefix", name, "--json").stdout)
    return next(item for item in listed if item["name"] == name)


def test_put_creates_then_replaces_by_name_guarded_by_etags(cli: Cli) -> None:
    (cli.folder / "v1.txt").write_text("first\n")
    (cli.folder / "v2.txt").write_text("second\n")
    created = cli.run("put", "notes.txt", "v1.txt")
    assert created.stdout.startswith("created ") and created.stdout.endswith("  notes.txt\n")
    first = _meta(cli, "notes.txt")

    # From standard input; the file keeps its id and gains a version.
    replaced = cli.run("put", "notes.txt", "-", stdin=b"from stdin\n")
    assert replaced.stdout.startswith(f"replaced {first['id']}")
    assert cli.run("get", "notes.txt", "-").stdout == "from stdin\n"
    second = _meta(cli, "notes.txt")
    assert second["version"] == 2 and second["etag"] != first["etag"]

    # --new: create only.
    refused = cli.run("put", "--new", "notes.txt", "v2.txt", code=exits.CONFLICT)
    assert refused.stderr == "textfiles: A file named 'notes.txt' already exists (--new).\n"
    fresh = json.loads(cli.run("put", "other.txt", "v2.txt", "--new", "--json").stdout)
    assert fresh["version"] == 1

    # --if-match: a stale ETag is refused, the current one (quoted or bare) replaces.
    stale = cli.run("put", "notes.txt", "v2.txt", "--if-match", str(first["etag"]), code=5)
    assert stale.stderr == (
        f"textfiles: 'notes.txt' does not have the ETag {first['etag']}: not overwritten.\n"
    )
    assert cli.run("get", "notes.txt").stdout == "from stdin\n"
    cli.run("put", "notes.txt", "v2.txt", "--if-match", str(second["sha256"]))
    assert cli.run("get", "notes.txt").stdout == "second\n"
    missing = cli.run("put", "absent.txt", "v1.txt", "--if-match", "*", code=exits.CONFLICT)
    assert missing.stderr == "textfiles: No file named 'absent.txt' to match.\n"
    assert "absent.txt" not in cli.run("ls").stdout
    cli.run("put", "notes.txt", "v1.txt", "--new", "--if-match", "x", code=exits.USAGE)


def test_a_change_made_meanwhile_is_reported_never_overwritten(tmp_path: Path) -> None:
    """On a server without PUT /names/{name}: between reading the name's ETag and writing,
    another client replaces the file: the put is a 412 with a message that says so, and the
    other client's body stays."""
    with started_cli(tmp_path / "data", None, tmp_path) as cli:
        base, key = cli.env["TEXTFILES_URL"], cli.env["TEXTFILES_KEY"]
        other = Client(base, key)
        made = other.create_file("shared.txt", b"theirs, first\n")

        class Racing(Client):
            def offers(self, method: str, path: str) -> bool:
                return False  # a server before PUT /names/{name}: list, then PUT by id

            def replace_file(
                self,
                file_id: str,
                body: bytes,
                if_match: str | None = None,
                progress: ProgressFn | None = None,
                if_none_match: str | None = None,
            ) -> File:
                other.replace_file(made["id"], b"theirs, meanwhile\n")
                return super().replace_file(file_id, body, if_match, progress, if_none_match)

        with pytest.raises(ApiError) as caught:
            names.write(Racing(base, key), "shared.txt", b"mine\n", INLINE_LIMIT)
        assert caught.value.status == 412 and exits.for_api(caught.value) == exits.CONFLICT
        assert caught.value.message == (
            f"'shared.txt' changed since it was read (it no longer has the ETag {made['etag']}):"
            " not overwritten. Run put again to replace the new version."
        )
        assert other.read_file(made["id"]) == b"theirs, meanwhile\n"


def test_large_bodies_create_and_replace_through_upload_links(cli: Cli) -> None:
    big = b"a line of a body above the inline limit\n" * 200
    assert len(big) > INLINE_LIMIT
    created = cli.run("put", "big.txt", "-", stdin=big)
    assert created.stdout.startswith("created ")
    assert cli.run("get", "big.txt").stdout.encode() == big
    first = _meta(cli, "big.txt")

    # Above the inline limit, a replacement goes through POST /files/{id}/uploads.
    bigger = big + "and one more line ✓\n".encode()
    replaced = cli.run("put", "big.txt", "-", stdin=bigger)
    assert replaced.stdout.startswith("replaced ") and replaced.stdout.endswith("  big.txt\n")
    assert cli.run("get", "big.txt").stdout.encode() == bigger
    now = _meta(cli, "big.txt")
    assert (now["id"], now["version"], now["size"]) == (first["id"], 2, len(bigger))
    # Guarded like an inline one: a stale ETag is refused, the file kept.
    stale = cli.run("put", "--if-match", str(first["etag"]), "big.txt", "-", stdin=big, code=5)
    assert "does not have the ETag" in stale.stderr
    assert cli.run("get", "big.txt").stdout.encode() == bigger
    # A small body replaces a large file inline.
    cli.run("put", "big.txt", "-", stdin=b"small now\n")
    assert cli.run("get", "big.txt").stdout == "small now\n"


def test_a_server_without_the_replace_route_gets_a_clear_error() -> None:
    """An older server (no POST /files/{id}/uploads in its document): said, nothing sent."""
    meta = {"id": "f" * 32, "name": "big.txt", "etag": '"old"', "sha256": "old", "size": 10}
    with stub() as api:
        api.on("GET", "/files", (200, {}, {"items": [meta], "next_cursor": None}))
        api.on("GET", "/openapi.json", (200, {}, {"paths": {}}))
        with pytest.raises(ApiError) as refused:
            names.write(Client(api.base, "tf_k"), "big.txt", b"x" * 8000, 4096)
        assert refused.value.status == 413
        assert "cannot yet replace a body that large" in refused.value.message
        assert api.requests("POST", f"/files/{meta['id']}/uploads") == []


def test_a_large_replace_goes_through_the_route_once_the_server_has_it() -> None:
    """A server whose document has POST /files/{id}/uploads gets the replacement through it:
    If-Match the ETag read, the body to the link, then the link's complete_url."""
    body = b"x" * 5000
    meta = {"id": "f" * 32, "name": "big.txt", "etag": '"old"', "sha256": "old", "size": 10}
    with stub() as api:
        api.on("GET", "/files", (200, {}, {"items": [meta], "next_cursor": None}))
        api.on(
            "GET", "/openapi.json", (200, {}, {"paths": {"/files/{file_id}/uploads": {"post": {}}}})
        )
        link = {
            "upload_id": "u1",
            "url": f"{api.base}/blob/u1",
            "method": "PUT",
            "headers": {"Content-Type": "text/plain; charset=utf-8"},
            "complete_url": "/files/uploads/u1/complete",
        }
        api.on("POST", f"/files/{meta['id']}/uploads", (201, {}, link))
        api.on("PUT", "/blob/u1", (200, {}, b""))
        done = {**meta, "etag": '"new"', "sha256": hashlib.sha256(body).hexdigest()}
        api.on("POST", "/files/uploads/u1/complete", (200, {}, done))
        written = names.write(Client(api.base, "tf_k"), "big.txt", body, 4096)
        assert written == names.Written(done, False)  # type: ignore[arg-type]
        (start,) = api.requests("POST", f"/files/{meta['id']}/uploads")
        assert start.path.endswith("?size=5000") and start.headers["If-Match"] == '"old"'
        assert start.headers["Idempotency-Key"]
        (sent,) = api.requests("PUT", "/blob/u1")
        assert sent.body == body and "Authorization" not in sent.headers
        (complete,) = api.requests("POST", "/files/uploads/u1/complete")
        assert complete.headers["Idempotency-Key"] != start.headers["Idempotency-Key"]


def test_put_writes_by_name_in_one_request_with_its_conditions() -> None:
    """On a server with PUT /names/{name}: the name one percent-encoded segment, --new as
    If-None-Match: *, --if-match as If-Match; no listing to resolve the name."""
    meta = {"id": "f" * 32, "name": "a b%.txt", "etag": '"e"', "sha256": "e", "version": 1}
    with stub() as api:
        api.on("GET", "/openapi.json", (200, {}, {"paths": {"/names/{name}": {"put": {}}}}))
        api.on("PUT", "/names/a%20b%25.txt", (201, {}, meta), (200, {}, {**meta, "version": 2}))
        client = Client(api.base, "tf_k")
        assert names.write(client, "a b%.txt", b"x", 4096, new=True).created is True
        assert names.write(client, "a b%.txt", b"y", 4096, if_match="abc").created is False
        first, second = api.requests("PUT", "/names/a%20b%25.txt")
        assert (first.body, first.headers["If-None-Match"]) == (b"x", "*")
        assert "If-Match" not in first.headers
        assert (second.headers["If-Match"], "If-None-Match" in second.headers) == ('"abc"', False)
        assert api.requests("GET", "/files") == []


def test_put_new_on_a_taken_name_exits_5_and_leaves_the_file(cli: Cli) -> None:
    (cli.folder / "a.txt").write_text("first\n")
    cli.run("put", "--new", "taken name.txt", "a.txt")
    refused = cli.run("put", "--new", "taken name.txt", "-", stdin=b"second\n", code=5)
    assert refused.stderr == "textfiles: A file named 'taken name.txt' already exists (--new).\n"
    assert cli.run("get", "taken name.txt").stdout == "first\n"
    stale = cli.run("put", "taken name.txt", "-", "--if-match", "0" * 64, stdin=b"x\n", code=5)
    assert "does not have the ETag" in stale.stderr
    assert cli.run("get", "taken name.txt").stdout == "first\n"


def test_a_create_only_put_whose_answer_was_lost_is_recognised() -> None:
    """The PUT landed, its answer was lost; the retry meets its own If-None-Match: * as a 412,
    and the name holds exactly the body sent: that is the success it hides."""
    body = b"mine\n"
    meta = {"id": "f" * 32, "name": "n.txt", "sha256": hashlib.sha256(body).hexdigest()}
    stale: Reply = (412, {}, {"Code": "PreconditionFailed", "Message": "'n.txt' exists."})
    with stub() as api:
        api.on("GET", "/openapi.json", (200, {}, {"paths": {"/names/{name}": {"put": {}}}}))
        api.on("PUT", "/names/n.txt", DROP, stale)
        api.on("GET", "/files", (200, {}, {"items": [meta], "next_cursor": None}))
        written = names.write(Client(api.base, "tf_k"), "n.txt", body, 4096, new=True)
        assert written == names.Written(meta, True)  # type: ignore[arg-type]
        assert len(api.requests("PUT", "/names/n.txt")) == 2
