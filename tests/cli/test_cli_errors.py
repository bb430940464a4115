"""The command's manners (clig.dev): --version, help with examples and described arguments,
global options anywhere, one-line settings errors, distinct documented exit codes, and no
local file replaced without --force. Against the real app on the embedded drivers."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import Cli, started_cli
from support.local_site import ROOT

sys.path.insert(0, str(ROOT / "cli"))

from textfiles_client import __version__, args, exits
from textfiles_client.transport import ApiError


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    folder = tmp_path_factory.mktemp("cli-errors")
    with started_cli(folder / "data", None, folder) as cli:
        yield cli


@pytest.fixture
def offline(tmp_path: Path) -> Cli:
    """No server: what fails before any request."""
    return Cli("http://127.0.0.1:9", "tf_unused", tmp_path)


# ---- help, version, usage ---------------------------------------------------------------


def _subparsers(top: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (group,) = (a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    return dict(group.choices)


def test_version_help_and_usage_errors(offline: Cli) -> None:
    assert offline.run("--version").stdout == f"textfiles {__version__}\n"
    assert offline.run("ls", "--version").stdout == f"textfiles {__version__}\n"
    bare = offline.run(code=exits.USAGE)
    assert bare.stderr.endswith("textfiles: give a command; textfiles --help lists them.\n")
    assert "unrecognized arguments: --bogus" in offline.run("ls", "--bogus", code=2).stderr
    assert "invalid choice: 'scp'" in offline.run("scp", "a", "b", code=exits.USAGE).stderr
    assert "required: NAME" in offline.run("put", code=exits.USAGE).stderr
    nameless = offline.run("put", "-", code=exits.USAGE, stdin=b"x\n")
    assert nameless.stderr == "textfiles: Standard input needs a name: put NAME -\n"

    top = offline.run("--help").stdout
    assert "exit codes:" in top and "examples:" in top and "docs/cli.md" in top
    for code, _meaning in exits.TABLE:
        assert re.search(rf"^\s+{code}  \S", top, re.M), code
    for name in args.COMMANDS:
        shown = offline.run(name, "--help").stdout
        assert "examples:" in shown and f"textfiles {name}" in shown, name
        assert "--json" in shown and "--url" in shown, name  # the global options too


def test_every_argument_is_described() -> None:
    for name, sub in _subparsers(args.parser()).items():
        for action in sub._actions:
            assert action.help, (name, action.dest)


def test_the_exit_codes_in_the_docs_are_the_commands() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    rows = re.findall(r"^\| `(\d+)` \| (.+?) \|$", text, re.M)
    assert [(int(code), meaning) for code, meaning in rows] == list(exits.TABLE)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (0, "ConnectionError", exits.UNAVAILABLE),
        (0, "ExportFailed", exits.FAILURE),
        (400, "BadRequest", exits.FAILURE),
        (401, "Unauthorized", exits.AUTH),
        (403, "Forbidden", exits.AUTH),
        (403, "QuotaExceeded", exits.LIMIT),
        (404, "NotFound", exits.NOT_FOUND),
        (409, "Conflict", exits.CONFLICT),
        (412, "PreconditionFailed", exits.CONFLICT),
        (413, "PayloadTooLarge", exits.LIMIT),
        (415, "UnsupportedMediaType", exits.FAILURE),
        (429, "TooManyRequests", exits.UNAVAILABLE),
        (500, "InternalServerError", exits.FAILURE),
        (503, "ServiceUnavailable", exits.UNAVAILABLE),
        (504, "HttpError", exits.UNAVAILABLE),
    ],
)
def test_each_answer_has_its_exit_code(status: int, code: str, expected: int) -> None:
    assert exits.for_api(ApiError(status, code, "m")) == expected


# ---- settings ---------------------------------------------------------------------------


def test_settings_errors_are_one_line_that_says_what_to_fix(offline: Cli, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    no_env = {"TEXTFILES_URL": "", "TEXTFILES_KEY": "", "TEXTFILES_CONFIG": str(config)}

    def fails(env: dict[str, str]) -> str:
        done = offline.run("ls", code=exits.SETTINGS, env={**no_env, **env})
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
        return done.stderr

    config.write_text('{"url": "http://127.0.0.1:9",\n "key": }')
    assert fails({}) == (
        f"textfiles: The config file {config} is not valid JSON (line 2, column 9: Expecting"
        " value). Fix it, or set TEXTFILES_CONFIG to another file.\n"
    )
    config.write_text('["http://127.0.0.1:9"]')
    assert "must hold one JSON object" in fails({})
    config.write_text('{"url": 9}')
    assert '"url" that is not a string' in fails({})
    config.write_bytes(b'{"url": "\xff"}')
    assert "is not UTF-8 text" in fails({})
    missing = tmp_path / "nowhere.json"
    assert fails({"TEXTFILES_CONFIG": str(missing)}) == (
        f"textfiles: The config file {missing} does not exist (TEXTFILES_CONFIG names it)."
        " Fix it, or set TEXTFILES_CONFIG to another file.\n"
    )
    config.write_text("{}")
    assert fails({}) == (
        f'textfiles: No API URL: set TEXTFILES_URL (or pass --url, or put "url" in {config}).\n'
    )
    assert fails({"TEXTFILES_URL": "http://127.0.0.1:9"}) == (
        "textfiles: No API key for http://127.0.0.1:9: set TEXTFILES_KEY (or pass --key, or put"
        f' "key" in {config}). `make key` prints one for a local server.\n'
    )
    assert "must start with http:// or https://" in fails({"TEXTFILES_URL": "127.0.0.1:9"})
    as_json = offline.run("ls", "--json", code=exits.SETTINGS, env={**no_env})
    assert json.loads(as_json.stdout)["exit"] == exits.SETTINGS


def test_settings_come_from_flags_anywhere_the_environment_or_the_config_file(cli: Cli) -> None:
    url, key = cli.env["TEXTFILES_URL"], cli.env["TEXTFILES_KEY"]
    nothing = {"TEXTFILES_URL": "", "TEXTFILES_KEY": ""}
    assert "running tasks" in cli.run("usage", "--url", url, "--key", key, env=nothing).stdout
    assert "running tasks" in cli.run("--url", url, "usage", "--key", key, env=nothing).stdout
    assert cli.run("ls", "--json").stdout == cli.run("--json", "ls").stdout
    # XDG_CONFIG_HOME's textfiles/config.json, when TEXTFILES_CONFIG names none.
    home = cli.folder / "xdg"
    (home / "textfiles").mkdir(parents=True)
    (home / "textfiles" / "config.json").write_text(json.dumps({"url": url, "key": key}))
    assert "running tasks" in cli.run("usage", env={**nothing, "XDG_CONFIG_HOME": str(home)}).stdout
    # A flag wins over the environment, which wins over the file.
    wrong = cli.run("ls", "--key", "tf_wrong", code=exits.AUTH, env={"XDG_CONFIG_HOME": str(home)})
    assert wrong.stderr.startswith("textfiles: ") and "key" in wrong.stderr.lower()


# ---- the service's answers ----------------------------------------------------------------


def test_each_kind_of_failure_has_its_exit_code(cli: Cli, offline: Cli) -> None:
    missing = cli.run("get", "nothing.txt", "--json", code=exits.NOT_FOUND)
    assert json.loads(missing.stdout) == {
        "error": "NotFound",
        "status": 404,
        "message": "No file with the id or name 'nothing.txt'.",
        "exit": exits.NOT_FOUND,
    }
    assert missing.stderr == "textfiles: No file with the id or name 'nothing.txt'.\n"
    cli.run("ls", code=exits.AUTH, env={"TEXTFILES_KEY": "tf_wrong"})
    bad = cli.run("put", "a/b.txt", "-", stdin=b"x\n", code=exits.FAILURE)
    assert bad.stderr == "textfiles: A file name may not contain '/'.\n"
    binary = cli.run("put", "nul.txt", "-", stdin=b"a\x00b", code=exits.FAILURE)
    assert binary.stderr.startswith("textfiles: ") and "Traceback" not in binary.stderr
    cli.run("put", "nowhere.txt", "no-such-local-file.txt", code=exits.FAILURE)
    down = offline.run("usage", code=exits.UNAVAILABLE)
    assert down.stderr.startswith("textfiles: Cannot reach http://127.0.0.1:9/usage: ")


# ---- local files ------------------------------------------------------------------------


def test_no_local_file_is_replaced_without_force(cli: Cli) -> None:
    cli.run("put", "keep.txt", "-", stdin=b"from the service\n")
    mine = cli.folder / "mine.txt"
    mine.write_text("my own work\n")
    for form in (["mine.txt"], ["-o", "mine.txt"]):
        refused = cli.run("get", "keep.txt", *form, code=exits.CONFLICT)
        assert refused.stderr == "textfiles: 'mine.txt' exists; add --force to replace it.\n"
        assert mine.read_text() == "my own work\n"
    cli.run("get", "keep.txt", "mine.txt", "--force")
    assert mine.read_text() == "from the service\n"
    saved = cli.run("get", "keep.txt", "-o", "new.txt")
    assert saved.stdout == "saved keep.txt to new.txt (17 B)\n"
    assert (cli.folder / "new.txt").read_text() == "from the service\n"
    assert cli.run("get", "keep.txt", "-").stdout == "from the service\n"
    cli.run("get", "keep.txt", "a.txt", "-o", "b.txt", code=exits.USAGE)
    assert not list(cli.folder.glob(".*.part"))  # no temporary file left behind

    archive = cli.folder / "export.zip"
    archive.write_text("not an archive yet\n")
    refused = cli.run("export", "--wait", code=exits.CONFLICT)
    assert refused.stderr == "textfiles: 'export.zip' exists; add --force to replace it.\n"
    assert archive.read_text() == "not an archive yet\n"
    cli.run("export", "--wait", "--force")
    assert "keep.txt" in " ".join(zipfile.ZipFile(archive).namelist())
    piped = subprocess.run(
        [*cli.command(), "export", "-o", "-"],
        cwd=cli.folder,
        env=cli.env,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert piped.stdout.startswith(b"PK") and piped.stderr == b""
