"""Threads a test starts must end inside it: one left running would outlive the test's own
environment (Chalice's test client restores the environment it saw when a call ends)."""

from __future__ import annotations

import threading

# Generous: a busy machine runs the suite; the bound only turns a hang into a failure.
JOIN_SECONDS = 60.0


def join_threads(*threads: threading.Thread, timeout: float = JOIN_SECONDS) -> None:
    for thread in threads:
        thread.join(timeout)
    alive = [thread.name for thread in threads if thread.is_alive()]
    assert not alive, f"threads still running after {timeout} s: {alive}"
