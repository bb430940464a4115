"""The folder now: its regular files (top level only: a name in the service holds no `/`),
each with its size, mtime and body hash, and why one cannot be pushed, if it cannot.
Hashing is skipped for a file whose size and mtime are those the state recorded."""

from __future__ import annotations

import hashlib
import os
import sys
import unicodedata
from pathlib import Path
from typing import NamedTuple

from textfiles_client.sync.state import Entry, ours

MAX_NAME = 255
# Names Windows refuses (and `.`/`..` everywhere): a file so named is not written locally.
_WINDOWS_BAD = set('<>:"\\|?*')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)
}


class LocalFile(NamedTuple):
    name: str
    sha256: str
    size: int
    mtime_ns: int
    problem: str | None = None  # why it cannot be pushed (not UTF-8 text, a bad name)


def scan(
    folder: Path, known: dict[str, Entry]
) -> tuple[dict[str, LocalFile], list[tuple[str, str]]]:
    """The files of `folder` by name, and what is there but is no file to sync (a subfolder)
    with why. `known`: the state's entries by name, whose hash is reused when unchanged."""
    files: dict[str, LocalFile] = {}
    others: list[tuple[str, str]] = []
    for item in sorted(os.scandir(folder), key=lambda e: e.name):
        if ours(item.name):
            continue
        if not item.is_file(follow_symlinks=False):
            others.append((item.name, _not_a_file(item)))
            continue
        info = item.stat(follow_symlinks=False)
        entry = known.get(item.name)
        if entry and (entry.size, entry.mtime_ns) == (info.st_size, info.st_mtime_ns):
            files[item.name] = LocalFile(item.name, entry.sha256, info.st_size, info.st_mtime_ns)
        else:
            files[item.name] = read(folder, item.name)
    return files, others


def _not_a_file(item: os.DirEntry[str]) -> str:
    if item.is_symlink():
        return "a symbolic link: not synced"
    if item.is_dir():
        return "a folder: not synced (a name in the service holds no /)"
    return "not a regular file"


def read(folder: Path, name: str) -> LocalFile:
    """A file's hash and whether it is plaintext (valid UTF-8, no NUL) under a valid name."""
    path = folder / name
    info = path.stat()
    body = path.read_bytes()
    digest = hashlib.sha256(body).hexdigest()
    return LocalFile(name, digest, len(body), info.st_mtime_ns, _problem(name, body))


def _problem(name: str, body: bytes) -> str | None:
    bad_name = remote_name_problem(name)
    if bad_name:
        return bad_name
    if b"\x00" in body:
        return "not plaintext (it holds a NUL byte)"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text (byte {exc.start})"
    return None


def remote_name_problem(name: str) -> str | None:
    """Why the service would refuse this name, if it would."""
    if len(name) > MAX_NAME:
        return f"a name of more than {MAX_NAME} characters"
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name):
        return "a name with control characters"
    return None


def local_name_problem(name: str) -> str | None:
    """Why a name from the service cannot be a file in the folder here, if it cannot."""
    if name in (".", "..") or "/" in name or "\x00" in name:
        return "not a valid file name here"
    if ours(name):
        return "the name of the sync's own files"
    if len(os.fsencode(name)) > 255:
        return "longer than this system's file names (255 bytes)"
    if sys.platform == "win32" and (
        set(name) & _WINDOWS_BAD
        or name.rstrip(" .") != name
        or name.split(".")[0].upper() in _WINDOWS_RESERVED
    ):
        return "not a valid file name on Windows"
    return None
