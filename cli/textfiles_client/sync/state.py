"""What the last sync saw: the feed's cursor and, per file id, its name, body hash, size and
the local file's mtime. Written atomically (a temporary file in DIR, then a rename) after each
change it records is complete, so an interrupted sync resumes from a true record."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from textfiles_client.exits import CliError

STATE_NAME = ".textfiles-sync.json"
TEMP_PREFIX = ".textfiles-sync-"  # temporary files in DIR: never synced
FORMAT = 1


class Entry(NamedTuple):
    """A file in step on both sides: its name, its body's SHA-256, size, the local mtime."""

    name: str
    sha256: str
    size: int
    mtime_ns: int

    @property
    def etag(self) -> str:
        return f'"{self.sha256}"'


@dataclass
class State:
    url: str
    cursor: str | None = None
    files: dict[str, Entry] = field(default_factory=dict)

    def by_name(self) -> dict[str, str]:
        return {entry.name: file_id for file_id, entry in self.files.items()}


def ours(name: str) -> bool:
    """The state file and the temporary files of a sync: never a file to push or pull."""
    return name == STATE_NAME or name.startswith(TEMP_PREFIX)


def load(folder: Path, url: str) -> State | None:
    """The folder's state, or None on a first sync."""
    path = folder / STATE_NAME
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != FORMAT:
            raise ValueError(f"format {raw.get('format')!r}")
        files = {k: Entry(**v) for k, v in raw["files"].items()}
        state = State(str(raw["url"]), raw.get("cursor"), files)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CliError(
            f"{path} cannot be read ({exc}). Move it away to sync {folder} afresh."
        ) from None
    if state.url.rstrip("/") != url.rstrip("/"):
        raise CliError(
            f"{folder} is synced with {state.url}, not {url}. Sync another folder, or move"
            f" {STATE_NAME} away to start afresh."
        )
    return state


def save(folder: Path, state: State) -> None:
    raw = {
        "format": FORMAT,
        "url": state.url,
        "cursor": state.cursor,
        "files": {k: v._asdict() for k, v in sorted(state.files.items())},
    }
    write_atomically(folder / STATE_NAME, json.dumps(raw, indent=1).encode())


def write_atomically(path: Path, data: bytes) -> None:
    """`data` under `path` whole or not at all: a temporary file beside it, then a rename."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed or removed below
        "wb", dir=path.parent, prefix=TEMP_PREFIX, suffix=".part", delete=False
    )
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)
