"""Named points where a test can hold a request, to force a race on purpose.

``point("files.read.body_missed")`` costs one dict lookup when nothing is armed, which is
always the case outside tests. A test arms a point, starts the request in a thread, waits until
the request has reached it, does its own work, then releases the request.
"""

from __future__ import annotations

import threading

_armed: dict[str, Pause] = {}
_made: list[Pause] = []  # every pause since the last reset, so reset() frees held threads
_lock = threading.Lock()


class Pause:
    """One armed point: the first ``times`` threads to reach it wait for ``release()``."""

    def __init__(self, name: str, times: int, timeout: float) -> None:
        self.name = name
        self.times = times
        self.timeout = timeout
        self.arrivals = 0
        self._reached = threading.Event()
        self._released = threading.Event()

    def wait_reached(self, timeout: float = 10.0) -> bool:
        """Whether a thread reached the point within ``timeout`` seconds."""
        return self._reached.wait(timeout)

    def release(self) -> None:
        self._released.set()

    def _hold(self) -> None:
        self.arrivals += 1
        self._reached.set()
        # Bounded: a test that forgets to release cannot hang the suite.
        self._released.wait(self.timeout)


def point(name: str) -> None:
    """Hold the calling thread here if a test armed ``name``; otherwise return at once."""
    if not _armed:
        return
    with _lock:
        pause = _armed.get(name)
        if pause is None:
            return
        pause.times -= 1
        if pause.times <= 0:
            del _armed[name]
    pause._hold()


def arm(name: str, times: int = 1, timeout: float = 30.0) -> Pause:
    """Hold the next ``times`` threads that reach ``name`` until the pause is released."""
    pause = Pause(name, times, timeout)
    with _lock:
        _armed[name] = pause
        _made.append(pause)
    return pause


def reset() -> None:
    """Disarm every point and let any held thread go."""
    with _lock:
        pauses = list(_made)
        _armed.clear()
        _made.clear()
    for pause in pauses:
        pause.release()
