"""Progress on a terminal only: a bar redrawn with `\\r` belongs on a screen, never in a
pipe or a log, so it is drawn only when stderr is a terminal (and not TERM=dumb), never with
--quiet or --json, and only for transfers big enough to take a moment."""

from __future__ import annotations

import os
import sys
from typing import IO

BAR_MIN_BYTES = 1024 * 1024  # a smaller transfer is over before a bar says anything


def interactive(stream: IO[str]) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def wanted(quiet: bool, as_json: bool, size: int | None = None) -> bool:
    """Whether to draw a bar on stderr for a transfer of `size` bytes (None: not bytes)."""
    if quiet or as_json or not interactive(sys.stderr):
        return False
    return size is None or size >= BAR_MIN_BYTES


class Bar:
    """A progress bar on stderr: `label [#####.....]  45%  1.2 MiB / 2.6 MiB`."""

    def __init__(self, label: str, enabled: bool, stream: IO[str] | None = None) -> None:
        self.label, self.enabled, self.stream = label, enabled, stream or sys.stderr
        self.shown = -1

    def __call__(self, done: int, total: int, unit: str = "bytes") -> None:
        if not self.enabled or total <= 0:
            return
        percent = min(100, done * 100 // total)
        if percent == self.shown:
            return
        self.shown = percent
        filled = percent * 30 // 100
        amounts = f"{size(done)} / {size(total)}" if unit == "bytes" else f"{done} / {total}"
        line = f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {percent:3d}%  {amounts}"
        self.stream.write(line)
        self.stream.flush()

    def end(self) -> None:
        if self.enabled and self.shown >= 0:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = -1


def size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
