"""The `textfiles` command and its Python client: against /openapi.json, and end to end
against `chalice local` on embedded drivers and on real backends."""

from __future__ import annotations

import inspect
import json
import keyword
import os
import re
import shutil
import subprocess
import sys
import typing
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.local_site import INLINE_LIMIT, ROOT, running

sys.path.insert(0, str(ROOT / "cli"))

from textfiles_client import client as client_module
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
        assert not (optional - expected) - {"progress", "sink"}, operation_id


def test_client_types_are_the_documents_schemas(embedded_env: Path) -> None:
    schemas = _document(embedded_env)["components"]["schemas"]
    names = ("File", "FileList", "Upload", "Rename", "Task", "Usage", "Health", "Error")
    for name in (*names, "Version", "VersionList", "Trashed", "TrashList"):
        declared = typing.get_type_hints(getattr(client_types, name))
        assert set(declared) == set(schemas[name]["properties"]), name
    assert set(typing.get_type_hints(client_types.Rate)) == set(
        schemas["Usage"]["properties"]["rate"]["properties"]
    )


# ---- end to end ------------------------------------------------------------------------


class Cli:
    """`textfiles` as a person runs it: settings from the environment, in a folder."""

    def __init__(self, base: str, key: str, folder: Path) -> None:
        self.folder = folder
        self.env = {**os.environ, "TEXTFILES_URL": base, "TEXTFILES_KEY": key}
        self.env["PYTHONPATH"] = str(ROOT / "cli")
        self.env.pop("TEXTFILES_CONFIG", None)

    def command(self) -> list[str]:
        installed = shutil.which("textfiles", path=str(Path(sys.executable).parent))
        return [installed] if installed else [sys.executable, "-m", "textfiles_client"]

    def run(
        self, *args: str, ok: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*self.command(), *args],
            cwd=self.folder,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (done.returncode == 0) == ok, (args, done.returncode, done.stdout, done.stderr)
        return done


@pytest.fixture(params=["embedded", "real"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    settings = request.getfixturevalue("real_settings") if request.param == "real" else None
    with running(tmp_path / "data", settings, f"cli-{request.param}") as (base, key):
        yield Cli(base, key, tmp_path)


@pytest.fixture
def embedded_cli(tmp_path: Path) -> Iterator[Cli]:
    """Errors and settings do not depend on the backends: the embedded drivers suffice."""
    with running(tmp_path / "data", None, "cli-errors") as (base, key):
        yield Cli(base, key, tmp_path)


def test_a_session_on_the_command_line(cli: Cli) -> None:
    small = cli.folder / "notes.txt"
    small.write_text("milk and eggs\n")
    big = cli.folder / "big.txt"
    big.write_bytes(b"a line of a larger file, through the upload link\n" * 400)
    assert big.stat().st_size > INLINE_LIMIT

    assert re.search(r"files\s+0 of 10000", cli.run("usage").stdout)
    assert cli.run("put", "notes.txt").stdout.startswith("created ")
    done = cli.run("put", "big.txt", "--name", "large.txt")
    assert "100%" in done.stderr and "large.txt" in done.stdout
    assert cli.run("get", "notes.txt").stdout == "milk and eggs\n"
    cli.run("get", "large.txt", "-o", "copy.txt")
    assert (cli.folder / "copy.txt").read_bytes() == big.read_bytes()

    listed = json.loads(cli.run("--json", "ls").stdout)
    assert [f["name"] for f in listed] == ["large.txt", "notes.txt"]
    assert cli.run("ls", "--prefix", "no").stdout.strip().endswith("notes.txt")
    assert "large.txt" not in cli.run("ls", "-q", "eggs milk").stdout
    assert cli.run("get", listed[1]["id"]).stdout == "milk and eggs\n"

    cli.run("mv", "notes.txt", "shopping.txt")
    gone = cli.run("get", "notes.txt", ok=False)
    assert "No file with the id or name 'notes.txt'" in gone.stderr
    taken = cli.run("put", "notes.txt", "--name", "large.txt", ok=False)
    assert taken.stderr == "textfiles: A file named 'large.txt' already exists.\n"

    exported = cli.run("export", "--wait", "-o", "all.zip")
    assert "export [" in exported.stderr and "100%" in exported.stderr
    with zipfile.ZipFile(cli.folder / "all.zip") as archive:
        assert sorted(n.rsplit("/", 1)[-1] for n in archive.namelist()) == [
            "large.txt",
            "shopping.txt",
        ]
    assert cli.run("rm", "shopping.txt").stdout == "deleted shopping.txt\n"
    usage = json.loads(cli.run("--json", "usage").stdout)
    assert usage["files"] == {"used": 1, "limit": 10000}


def test_errors_and_settings(embedded_cli: Cli) -> None:
    cli = embedded_cli
    wrong = cli.run("ls", ok=False, env={"TEXTFILES_KEY": "tf_wrong"})
    assert wrong.stderr.startswith("textfiles: ") and "key" in wrong.stderr.lower()
    as_json = cli.run("--json", "get", "nothing.txt", ok=False)
    assert json.loads(as_json.stdout)["status"] == 404
    config = cli.folder / "config.json"
    config.write_text(
        json.dumps({"url": cli.env["TEXTFILES_URL"], "key": cli.env["TEXTFILES_KEY"]})
    )
    settings = {"TEXTFILES_URL": "", "TEXTFILES_KEY": "", "TEXTFILES_CONFIG": str(config)}
    assert "running tasks" in cli.run("usage", env=settings).stdout
    down = cli.run("usage", ok=False, env={"TEXTFILES_URL": "http://127.0.0.1:9"})
    assert "Cannot reach" in down.stderr


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
    taken = cli.run("undelete", "todo.txt", ok=False)
    assert "?name=" in taken.stderr
    cli.run("undelete", "--id", first["id"], "--as", "todo-old.txt")
    assert cli.run("get", "todo-old.txt").stdout == "milk\neggs\n"
    assert len(cli.run("log", "todo-old.txt").stdout.splitlines()) == 4
    assert "todo" not in cli.run("trash").stdout
