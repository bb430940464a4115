"""`textfiles cp SRC DEST`: a copy made by the service (POST /files/{id}/copy), against the real
app on both configurations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import Cli
from support.local_site import running


@pytest.fixture(params=["embedded", "real"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    settings = request.getfixturevalue("real_settings") if request.param == "real" else None
    with running(tmp_path / "data", settings, "cli-cp") as (base, key):  # a tenant of its own
        yield Cli(base, key, tmp_path)


def _listed(cli: Cli) -> dict[str, dict[str, object]]:
    return {item["name"]: item for item in json.loads(cli.run("ls", "--json").stdout)}


def test_cp_copies_a_file_by_name_or_id(cli: Cli) -> None:
    body = "a list worth keeping ✓\n".encode() * 300  # above the inline limit too
    cli.run("put", "list.txt", "-", stdin=body)
    done = cli.run("cp", "list.txt", "list-2024.txt")
    assert done.stdout.startswith("copied list.txt to ") and done.stdout.endswith(
        " list-2024.txt\n"
    )
    assert cli.run("get", "list-2024.txt").stdout.encode() == body
    files = _listed(cli)
    assert files["list-2024.txt"]["sha256"] == files["list.txt"]["sha256"]
    assert files["list-2024.txt"]["id"] != files["list.txt"]["id"]

    by_id = json.loads(cli.run("cp", str(files["list.txt"]["id"]), "third.txt", "--json").stdout)
    assert by_id["name"] == "third.txt" and by_id["size"] == len(body)

    taken = cli.run("cp", "list.txt", "third.txt", code=5)
    assert "already exists" in taken.stderr
    cli.run("cp", "missing.txt", "x.txt", code=4)
    stale = cli.run("cp", "--if-match", "0000", "list.txt", "y.txt", code=5)
    assert stale.stderr.startswith("textfiles: ")
    guarded = cli.run("cp", "--if-match", str(files["list.txt"]["sha256"]), "list.txt", "y.txt")
    assert guarded.stdout.endswith(" y.txt\n")
    assert sorted(_listed(cli)) == ["list-2024.txt", "list.txt", "third.txt", "y.txt"]
