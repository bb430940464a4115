"""Where the command finds its URL and key: --url/--key, else TEXTFILES_URL/TEXTFILES_KEY,
else the config file (TEXTFILES_CONFIG, else $XDG_CONFIG_HOME/textfiles/config.json, else
~/.config/textfiles/config.json: {"url": ..., "key": ...}). Every problem is one line that
says what to fix."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

from textfiles_client.exits import SETTINGS, CliError


class Settings(NamedTuple):
    url: str
    key: str


def config_path() -> tuple[Path, bool]:
    """The config file, and whether the user named it (then it must exist)."""
    named = os.environ.get("TEXTFILES_CONFIG")
    if named:
        return Path(named).expanduser(), True
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "textfiles" / "config.json", False


def read_config(path: Path, named: bool) -> dict[str, str]:
    """The file's settings; {} when there is no file (and none was named)."""
    if not path.exists() and not named:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _bad(path, "does not exist (TEXTFILES_CONFIG names it)") from None
    except UnicodeDecodeError:
        raise _bad(path, "is not UTF-8 text") from None
    except OSError as exc:
        raise _bad(path, f"cannot be read: {exc.strerror or exc}") from None
    try:
        stored: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise _bad(path, f"is not valid JSON ({where})") from None
    if not isinstance(stored, dict):
        raise _bad(path, 'must hold one JSON object, like {"url": "...", "key": "..."}')
    for field in ("url", "key"):
        if field in stored and not isinstance(stored[field], str):
            raise _bad(path, f'has a "{field}" that is not a string')
    return {k: v for k, v in stored.items() if k in ("url", "key")}


def _bad(path: Path, problem: str) -> CliError:
    return CliError(
        f"The config file {path} {problem}. Fix it, or set TEXTFILES_CONFIG to another file.",
        SETTINGS,
    )


def load(url_flag: str | None, key_flag: str | None) -> Settings:
    path, named = config_path()
    stored = read_config(path, named)
    url = url_flag or os.environ.get("TEXTFILES_URL") or stored.get("url")
    if not url:
        raise CliError(
            f'No API URL: set TEXTFILES_URL (or pass --url, or put "url" in {path}).', SETTINGS
        )
    if not url.startswith(("http://", "https://")):
        raise CliError(f"The API URL {url!r} must start with http:// or https://.", SETTINGS)
    key = key_flag or os.environ.get("TEXTFILES_KEY") or stored.get("key")
    if not key:
        raise CliError(
            f"No API key for {url}: set TEXTFILES_KEY (or pass --key, or put"
            f' "key" in {path}). `make key` prints one for a local server.',
            SETTINGS,
        )
    return Settings(url, key)
