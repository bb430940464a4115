"""The `textfiles` command and its Python client: against /openapi.json, and end to end
against `chalice local` on embedded drivers and on real backends."""

from __future__ import annotations

import inspect
import json
import keyword
import re
import sys
import typing
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.cli import Cli, started_cli
from support.local_site import INLINE_LIMIT, ROOT

sys.path.insert(0, str(ROOT / "cli"))

from textfiles_client import client as client_module
from textfiles_client import exits
from textfiles_client import types as client_types


def _document(embedded_env: Path) -> dict[str, Any]:
    from chalicelib.edge.openapi import render

    return render.document()


def _snake(name: str) -> str:
    """A Python name: `If-None-Match` is if_none_match; a keyword (`from`) takes a `_`."""
    snake = re.sub(r"[^a-z0-9]+", "_", re.sub(r"(?<=[a-z])([A-Z])", r"_\1", name).lower())
    return snake + "_" if keyword.iskeyword(snake) else snake


def _expected_params(doc: dict[str, Any], op: dict[str, Any]) -> set[str]:
    names = {_snake(p["name"]) for p in op.get("parameters", [])}
    body = op.get("requestBody")
    if body:
        schema = next(iter(body["content"].values()))["schema"]
        if "$ref" in schema:
            schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        names |= set(schema["properties"]) if schema.get("type") == "object" else {"body"}
    return names


def _operations() -> dict[str, Any]:
    methods = inspect.getmembers(client_module.Client, inspect.isfunction)
    return {m.__operation__: m for _, m in methods if hasattr(m, "__operation__")}


def test_every_operation_has_a_client_method_and_back(embedded_env: Path) -> None:
    doc = _document(embedded_env)
    documented = {op["operationId"]: op for ops in doc["paths"].values() for op in ops.values()}
    methods = _operations()
    assert set(methods) == set(documented)
    for operation_id, method in methods.items():
        assert method.__name__ == _snake(operation_id)
        params = inspect.signature(method).parameters
        required = {n for n, p in params.items() if p.default is inspect.Parameter.empty}
        optional = set(params) - required - {"self"}
        expected = _expected_params(doc, documented[operation_id])
        assert expected <= required | optional, (operation_id, expected, set(params))
        # What the document requires, the method requires; its own extras are options.
        must = {
            _snake(p["name"])
            for p in documented[operation_id].get("parameters", [])
            if p.get("required")
        }
        assert must <= required, operation_id
        extras = {"progress", "sink"}
        assert not (optional - expected) - extras, operation_id


def test_client_types_are_the_documents_schemas(embedded_env: Path) -> None:
    schemas = _document(embedded_env)["components"]["schemas"]
    pairs = {name: name for name in ("FileList", "Upload", "Rename", "Task", "Usage", "Health")}
    pairs.update(FileMetadata="File", Error="Error")
    pairs.update({name: name for name in ("Version", "VersionList", "Trashed", "TrashList")})
    pairs.update({name: name for name in ("Change", "ChangeList")})
    for name, ours in pairs.items():
        declared = typing.get_type_hints(getattr(client_types, ours))
        assert set(declared) == set(schemas[name]["properties"]), name
    assert set(typing.get_type_hints(client_types.Rate)) == set(
        schemas["Usage"]["properties"]["rate"]["properties"]
    )


# ---- end to end ------------------------------------------------------------------------


@pytest.fixture(params=["embedded", "real"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    settings = request.getfixturevalue("real_settings") if request.param == "real" else None
    with started_cli(tmp_path / "data", settings, tmp_path) as cli:
        yield cli


def test_a_session_on_the_command_line(cli: Cli) -> None:
    small = cli.folder / "notes.txt"
    small.write_text("milk and eggs\n")
    big = cli.folder / "big.txt"
    big.write_bytes(b"a line of a larger file, through the upload link\n" * 400)
    assert big.stat().st_size > INLINE_LIMIT

    assert re.search(r"files\s+0 of 10000", cli.run("usage").stdout)
    assert cli.run("put", "notes.txt").stdout.startswith("created ")
    done = cli.run("put", "large.txt", "big.txt")
    assert done.stdout.startswith("created ") and "large.txt" in done.stdout
    assert done.stderr == ""  # no progress bar: stderr is not a terminal
    assert cli.run("get", "notes.txt").stdout == "milk and eggs\n"
    cli.run("get", "large.txt", "-o", "copy.txt")
    assert (cli.folder / "copy.txt").read_bytes() == big.read_bytes()

    listed = json.loads(cli.run("ls", "--json").stdout)
    assert [f["name"] for f in listed] == ["large.txt", "notes.txt"]
    assert cli.run("ls", "--prefix", "no").stdout.strip().endswith("notes.txt")
    assert "large.txt" not in cli.run("ls", "-q", "eggs milk").stdout
    assert cli.run("get", listed[1]["id"]).stdout == "milk and eggs\n"

    small.write_text("milk, eggs and bread\n")
    replaced = json.loads(cli.run("put", "notes.txt", "--json").stdout)
    assert (replaced["id"], replaced["version"]) == (listed[1]["id"], 2)
    assert cli.run("get", "notes.txt").stdout == "milk, eggs and bread\n"

    cli.run("mv", "notes.txt", "shopping.txt")
    gone = cli.run("get", "notes.txt", code=exits.NOT_FOUND)
    assert gone.stderr == "textfiles: No file with the id or name 'notes.txt'.\n"
    taken = cli.run("put", "--new", "large.txt", "notes.txt", code=exits.CONFLICT)
    assert taken.stderr == "textfiles: A file named 'large.txt' already exists (--new).\n"

    exported = cli.run("export", "--wait", "-o", "all.zip")
    assert exported.stderr == "" and exported.stdout.startswith("exported 2 files")
    with zipfile.ZipFile(cli.folder / "all.zip") as archive:
        assert sorted(n.rsplit("/", 1)[-1] for n in archive.namelist()) == [
            "large.txt",
            "shopping.txt",
        ]
    assert cli.run("rm", "shopping.txt").stdout == "deleted shopping.txt\n"
    usage = json.loads(cli.run("--json", "usage").stdout)
    assert usage["files"] == {"used": 1, "limit": 10000}


def test_a_redirected_body_is_followed_without_the_key() -> None:
    """A large body may answer with a redirect to a presigned link on another host."""
    import http.server
    import threading

    seen: dict[str, str | None] = {}

    class Storage(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen["authorization"] = self.headers.get("Authorization")
            self.send_response(200)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"the body\n")

        def log_message(self, *args: Any) -> None:
            pass

    class Api(Storage):
        def do_GET(self) -> None:
            seen["api_authorization"] = self.headers.get("Authorization")
            self.send_response(307)
            self.send_header("Location", f"http://127.0.0.1:{storage.server_port}/signed?x=1")
            self.send_header("Content-Length", "0")
            self.end_headers()

    storage = http.server.HTTPServer(("127.0.0.1", 0), Storage)
    api = http.server.HTTPServer(("127.0.0.1", 0), Api)
    for server in (storage, api):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = client_module.Client(f"http://127.0.0.1:{api.server_port}", "tf_secret")
        assert client.read_file("abc") == b"the body\n"
    finally:
        for server in (storage, api):
            server.shutdown()
            server.server_close()
    assert seen == {"api_authorization": "Bearer tf_secret", "authorization": None}


def test_history_on_the_command_line(cli: Cli) -> None:
    """log, diff, restore, trash, undelete (docs/history.md)."""
    from textfiles_client.client import Client

    (cli.folder / "todo.txt").write_text("milk\neggs\n")
    cli.run("put", "todo.txt")
    client = Client(cli.env["TEXTFILES_URL"], cli.env["TEXTFILES_KEY"])
    first = client.list_files(prefix="todo.txt")["items"][0]  # a real tenant is shared
    client.replace_file(first["id"], b"milk\neggs\nbread\n")
    log = cli.run("log", "todo.txt").stdout.splitlines()
    assert log[0].startswith("v2") and log[0].endswith("(current)")
    assert log[1].startswith("v1") and len(log) == 2
    diff = "--- todo.txt@v1\n+++ todo.txt@v2\n@@ -1,2 +1,3 @@\n milk\n eggs\n+bread\n"
    assert cli.run("diff", "todo.txt").stdout == diff
    assert cli.run("diff", "todo.txt", "1", "2").stdout == diff
    assert "as v3" in cli.run("restore", "todo.txt", "--version", "1").stdout
    assert cli.run("get", "todo.txt").stdout == "milk\neggs\n"

    cli.run("rm", "todo.txt")
    cli.run("put", "todo.txt")  # the name is free again
    cli.run("rm", "todo.txt")
    trashed = [t for t in json.loads(cli.run("--json", "trash").stdout) if "todo" in t["name"]]
    assert [t["name"] for t in trashed] == ["todo.txt", "todo.txt"]
    assert trashed[1]["id"] == first["id"]
    back = json.loads(cli.run("--json", "undelete", "todo.txt").stdout)
    assert back["id"] == trashed[0]["id"]  # the most recently deleted one
    taken = cli.run("undelete", "todo.txt", code=exits.CONFLICT)
    assert "?name=" in taken.stderr
    cli.run("undelete", "--id", first["id"], "--as", "todo-old.txt")
    assert cli.run("get", "todo-old.txt").stdout == "milk\neggs\n"
    assert len(cli.run("log", "todo-old.txt").stdout.splitlines()) == 4
    assert "todo" not in cli.run("trash").stdout
