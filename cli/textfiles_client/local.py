"""Local files: `-` is standard input or output; an existing file is never replaced without
--force, and a download appears under its name only once it is complete."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from textfiles_client.exits import CONFLICT, FAILURE, CliError

STDIO = "-"


def read_input(source: str) -> bytes:
    """The bytes of a local file, or of standard input for `-`."""
    if source == STDIO:
        if sys.stdin.isatty():
            print("textfiles: reading standard input; end it with Ctrl-D", file=sys.stderr)
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except FileNotFoundError:
        raise CliError(f"No local file {source!r} (give - to read standard input).") from None
    except IsADirectoryError:
        raise CliError(f"{source!r} is a folder, not a file.") from None
    except OSError as exc:
        raise CliError(f"Cannot read {source!r}: {exc.strerror or exc}") from None


def refuse_existing(target: str, force: bool) -> None:
    """Fail before any work when `target` exists and --force was not given."""
    if target == STDIO:
        return
    path = Path(target)
    if path.is_dir():
        raise CliError(f"{target!r} is a folder; give a file name.", FAILURE)
    if path.exists() and not force:
        raise CliError(f"{target!r} exists; add --force to replace it.", CONFLICT)


@contextlib.contextmanager
def output(target: str, force: bool) -> Iterator[IO[bytes]]:
    """A sink for `target` (standard output for `-`): a temporary file beside it, renamed
    into place when the block ends without an error, removed when it fails."""
    if target == STDIO:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    refuse_existing(target, force)
    path = Path(target)
    folder = path.parent
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed or removed below
            "wb", dir=folder, prefix=f".{path.name}.", suffix=".part", delete=False
        )
    except OSError as exc:
        raise CliError(f"Cannot write into {str(folder)!r}: {exc.strerror or exc}") from None
    try:
        with handle:
            yield handle
        _publish(Path(handle.name), path, force)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)


def _publish(done: Path, target: Path, force: bool) -> None:
    """`done` becomes `target`, with the permissions a new file gets; without --force, only
    if nothing appeared there meanwhile (a hard link never replaces)."""
    mask = os.umask(0)
    os.umask(mask)
    done.chmod(0o666 & ~mask)
    if force:
        os.replace(done, target)
        return
    try:
        os.link(done, target)
    except FileExistsError:
        raise CliError(f"{str(target)!r} exists; add --force to replace it.", CONFLICT) from None
    except OSError:  # a file system without hard links
        if target.exists():
            raise CliError(
                f"{str(target)!r} exists; add --force to replace it.", CONFLICT
            ) from None
        os.replace(done, target)
