"""One sync at a time in a folder: a lock file holding the process id. A lock left by a
process that is gone (killed) is taken over, and so are the temporary files it left."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from textfiles_client.exits import CONFLICT, CliError
from textfiles_client.sync.state import TEMP_PREFIX

LOCK_NAME = f"{TEMP_PREFIX}lock"


def _alive(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill(pid, 0) would end it there: assume it runs
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _take(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(str(os.getpid()))
    return True


@contextlib.contextmanager
def held(folder: Path) -> Iterator[None]:
    path = folder / LOCK_NAME
    if not _take(path):
        try:
            pid = int(path.read_text() or "0")
        except (OSError, ValueError):
            pid = 0
        if pid and _alive(pid):
            raise CliError(
                f"Another sync (process {pid}) is running in {folder}; if none is, remove {path}.",
                CONFLICT,
            )
        path.unlink(missing_ok=True)
        if not _take(path):
            raise CliError(f"Another sync has just started in {folder}.", CONFLICT)
    for left in folder.glob(f"{TEMP_PREFIX}*.part"):  # of a sync that was killed
        left.unlink(missing_ok=True)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
