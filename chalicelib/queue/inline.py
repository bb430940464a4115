"""The in-process queue: a daemon thread runs the worker on each message, with SQS's rules
(a failed message comes back after its visibility timeout, and after `max_receives`
receives it is dead-lettered) and a Lambda-like time budget per message.

Its messages live in memory and die with the process. So when it starts it enqueues a
message for every unfinished task whose message is not on its way (`tasks.resume_messages`):
a restart of `make run` loses no task; one that was running resumes once its lease ends."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from typing import Any

from chalicelib import logs
from chalicelib.queue import BudgetContext

DEFAULT_VISIBILITY_S = 5.0


class InlineQueue:
    name = "inline"

    def __init__(self, budget_ms: int, max_receives: int) -> None:
        self.budget_ms = budget_ms
        self.max_receives = max_receives
        self.dead_letters: list[str] = []
        self._ready: list[tuple[float, int, str, int]] = []  # (visible_at, receipt, body, count)
        self._receipts = itertools.count(1)
        self._visibility: dict[str, float] = {}
        self._busy = False
        self._closed = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._resume()

    def _resume(self) -> None:
        from chalicelib import tasks  # the worker; imported here, the port stays below it

        try:
            bodies = tasks.resume_messages()
        except Exception as exc:  # noqa: BLE001 - the relay sends unsent tasks later anyway
            logs.warning("unfinished tasks not resumed", error=repr(exc)[:300])
            return
        if bodies:
            logs.info("unfinished tasks resumed", count=len(bodies))
        for body in bodies:
            self.send(body)

    def send(self, body: str, delay_s: int = 0) -> None:
        with self._cond:
            self._push(body, time.monotonic() + max(0, delay_s), 0)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="inline-task-worker", daemon=True
                )
                self._thread.start()

    def _push(self, body: str, visible_at: float, count: int) -> None:
        heapq.heappush(self._ready, (visible_at, next(self._receipts), body, count))
        self._cond.notify_all()

    def change_visibility(self, receipt: str, timeout_s: int) -> None:
        with self._cond:
            self._visibility[receipt] = float(max(0, timeout_s))

    def stats(self) -> dict[str, Any]:
        with self._cond:
            return {
                "driver": self.name,
                "depth": len(self._ready),
                "in_flight": int(self._busy),
                "dead_letters": len(self.dead_letters),
            }

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until no message is waiting or running; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._ready or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _next(self) -> tuple[int, str, int] | None:
        with self._cond:
            while not self._closed:
                if self._ready and self._ready[0][0] <= time.monotonic():
                    _, receipt, body, count = heapq.heappop(self._ready)
                    self._busy = True
                    return receipt, body, count + 1
                wait = self._ready[0][0] - time.monotonic() if self._ready else 1.0
                self._cond.wait(max(0.001, min(wait, 1.0)))
            return None

    def _run(self) -> None:
        from chalicelib import tasks  # the worker; imported here, the port stays below it

        while (item := self._next()) is not None:
            receipt, body, count = item
            try:
                tasks.handle_message(
                    tasks.Delivery(body, str(receipt), count), BudgetContext(self.budget_ms)
                )
            except Exception as exc:  # noqa: BLE001 - SQS semantics: retry, then dead-letter
                self._failed(str(receipt), body, count, exc)
            finally:
                with self._cond:
                    self._visibility.pop(str(receipt), None)
                    self._busy = False
                    self._cond.notify_all()

    def _failed(self, receipt: str, body: str, count: int, exc: Exception) -> None:
        with self._cond:
            visibility = self._visibility.pop(receipt, DEFAULT_VISIBILITY_S)
            if count >= self.max_receives:
                self.dead_letters.append(body)
                logs.error("task message dead-lettered", body=body, receives=count)
                return
            logs.warning("task message failed; it will come back", error=repr(exc)[:300])
            self._push(body, time.monotonic() + visibility, count)
