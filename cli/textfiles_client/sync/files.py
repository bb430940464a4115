"""Local files as a sync changes them: a body lands whole (a temporary file in DIR, then a
rename) or not at all, and a local file about to be replaced by something it does not hold is
moved aside under a conflict name instead, never lost."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from textfiles_client.sync.state import TEMP_PREFIX

MAX_BYTES = 255


def digest(path: Path) -> str | None:
    """The SHA-256 of a local file, or None when there is none."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def conflict_name(folder: Path, name: str) -> str:
    """`notes (conflict 2026-12-07 from HOST).txt`: a free name beside `name`."""
    stem, dot, ext = name.rpartition(".")
    if not stem:  # no extension, or a dotfile
        stem, dot, ext = name, "", ""
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    host = socket.gethostname().split(".")[0] or "here"
    for n in range(1, 1000):
        tag = f" (conflict {day} from {host}{'' if n == 1 else f' {n}'})"
        room = MAX_BYTES - len(os.fsencode(tag + dot + ext))
        short = os.fsencode(stem)[:room].decode("utf-8", "ignore")
        candidate = f"{short}{tag}{dot}{ext}"
        if not (folder / candidate).exists():
            return candidate
    raise FileExistsError(f"no free conflict name beside {name}")


def aside(folder: Path, name: str) -> str:
    """Moves the local file `name` to a free conflict name; returns that name."""
    free = conflict_name(folder, name)
    os.rename(folder / name, folder / free)
    return free


@contextlib.contextmanager
def landing(folder: Path) -> Iterator[tuple[IO[bytes], Path]]:
    """A temporary file in `folder` for a download: write it, `close` it, rename it into
    place; whatever is left of it when the block ends is removed."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed or removed below
        "wb", dir=folder, prefix=TEMP_PREFIX, suffix=".part", delete=False
    )
    path = Path(handle.name)
    try:
        yield handle, path
    finally:
        handle.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def close(handle: IO[bytes]) -> None:
    """On disk before it is renamed into place."""
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()


def mode_of_new_file(path: Path) -> None:
    """A temporary file is 0600; a synced file gets the mode a new file gets."""
    mask = os.umask(0)
    os.umask(mask)
    path.chmod(0o666 & ~mask)
