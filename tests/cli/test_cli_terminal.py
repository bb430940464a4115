"""Progress on a terminal only, checked through a real pseudo-terminal: `\\r` frames when stderr
is a terminal, none in a pipe; no bar beside a body printed on the terminal; Ctrl-C is 130."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.cli import Cli, started_cli
from support.local_site import ROOT

sys.path.insert(0, str(ROOT / "cli"))

from textfiles_client import exits

FRAME = re.compile(r"\r(?!\n)")  # a terminal shows "\n" as "\r\n": a bare "\r" is a redraw
BIG = b"a line of a file above the bar's threshold, one MiB\n" * 22000


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    folder = tmp_path_factory.mktemp("cli-terminal")
    (folder / "big.txt").write_bytes(BIG)
    with started_cli(folder / "data", None, folder) as cli:
        cli.run("put", "small.txt", "-", stdin=b"sixteen bytes..\n")
        cli.run("put", "big.txt")
        yield cli


def _frames(screen: str, label: str) -> list[str]:
    return [f for f in FRAME.split(screen) if f.startswith(label)]


def test_a_bar_on_a_terminal_for_a_big_transfer(cli: Cli) -> None:
    assert len(BIG) > 1024 * 1024
    put = cli.run_on_terminal("put", "copy-of-big.txt", "big.txt")
    frames = _frames(put.screen, "put copy-of-big.txt [")
    assert len(frames) > 2 and "100%" in frames[-1] and "1.1 MiB / 1.1 MiB" in frames[-1]
    assert put.stdout.startswith(b"created ")

    got = cli.run_on_terminal("get", "big.txt", "-o", "copy.txt")
    assert "100%" in _frames(got.screen, "get big.txt [")[-1]
    assert (cli.folder / "copy.txt").read_bytes() == BIG
    # The body to a pipe, the bar to the terminal: each where it belongs.
    piped = cli.run_on_terminal("get", "big.txt")
    assert piped.stdout == BIG and _frames(piped.screen, "get big.txt [")
    assert "a line" not in piped.screen

    exported = cli.run_on_terminal("export", "-o", "all.zip")
    assert re.search(r"100%  (\d+) / \1\r\n", _frames(exported.screen, "export [")[-1])


def test_no_bar_in_a_pipe_with_quiet_or_for_a_small_transfer(cli: Cli) -> None:
    for args in (("get", "big.txt", "-o", "pipe.txt"), ("put", "big2.txt", "big.txt")):
        done = cli.run(*args)
        assert done.stderr == "" and "\r" not in done.stdout, args
    quiet = cli.run_on_terminal("get", "big.txt", "-o", "quiet.txt", "--quiet")
    assert not FRAME.search(quiet.screen) and quiet.screen == ""
    as_json = cli.run_on_terminal("put", "big3.txt", "big.txt", "--json")
    assert as_json.screen == "" and as_json.stdout.startswith(b"{")
    small = cli.run_on_terminal("get", "small.txt", "-o", "small-copy.txt")
    assert small.screen == ""
    # A body printed on the terminal gets no bar drawn across it.
    shown = cli.run_on_terminal("get", "big.txt", stdout_tty=True)
    assert not _frames(shown.screen, "get big.txt [")
    assert shown.screen.count("a line of a file") == 22000
    dumb = cli.run_on_terminal("get", "big.txt", "-o", "dumb.txt", env={"TERM": "dumb"})
    assert dumb.screen == ""


def test_ctrl_c_is_exit_130_and_leaves_nothing(cli: Cli) -> None:
    with cli.on_terminal("put", "typed.txt", "-") as term:
        term.read_until("reading standard input; end it with Ctrl-D")
        time.sleep(0.2)
        term.interrupt()
        term.wait()
    assert term.code == exits.INTERRUPTED
    assert term.screen.endswith("textfiles: interrupted\r\n")
    assert "Traceback" not in term.screen
    assert "typed.txt" not in cli.run("ls").stdout


def test_an_interrupted_download_leaves_no_file(cli: Cli, tmp_path: Path) -> None:
    with cli.on_terminal("get", "big.txt", "-o", "partial.txt") as term:
        term.read_until("get big.txt [")
        term.interrupt()
        term.wait()
    assert term.code in (exits.INTERRUPTED, exits.OK)  # it may have finished first
    left = [p.name for p in cli.folder.iterdir() if p.name.startswith(".partial.txt")]
    assert left == []
    saved = cli.folder / "partial.txt"
    if term.code == exits.OK or saved.exists():  # never a half-written file
        assert saved.read_bytes() == BIG


def test_a_reader_that_leaves_early_ends_it_quietly(cli: Cli) -> None:
    """`textfiles get big.txt | head`: no traceback, no 'Cannot reach' for a pipe closed."""
    proc = subprocess.Popen(
        [*cli.command(), "get", "big.txt"],
        cwd=cli.folder,
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(20) == BIG[:20]
    proc.stdout.close()
    assert proc.wait(timeout=30) == exits.FAILURE
    assert proc.stderr.read() == b""
    proc.stderr.close()
