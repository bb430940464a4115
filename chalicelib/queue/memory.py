"""The in-process queue: once started, a daemon thread hands each message to its consumer,
with SQS's rules (a message not acknowledged comes back after its delay, and after
`max_receives` receives a dead-lettered one stays in `dead_letters`) and a Lambda-like time
budget per message.

Its messages live in memory and die with the process. So when it starts it first enqueues
the bodies its `pending` callable returns (the task system's unfinished tasks): a restart of
`make run` loses no task; one that was running resumes once its lease ends."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib import logs
from chalicelib.queue.base import BudgetContext, Consumer, Delivery, Outcome, retry

DEFAULT_VISIBILITY_S = 5.0


class InlineQueue:
    name = "inline"

    def __init__(self, budget_ms: int, max_receives: int) -> None:
        self.budget_ms = budget_ms
        self.max_receives = max_receives
        self.dead_letters: list[str] = []
        self._ready: list[tuple[float, int, str, int]] = []  # (visible_at, receipt, body, count)
        self._receipts = itertools.count(1)
        self._outcomes: dict[str, Outcome] = {}
        self._busy = False
        self._closed = False
        self._cond = threading.Condition()
        self._consumer: Consumer | None = None
        self._thread: threading.Thread | None = None

    def start(self, consumer: Consumer, pending: Callable[[], list[str]]) -> None:
        with self._cond:
            if self._consumer is not None:
                return
            self._consumer = consumer
        try:
            bodies = pending()
        except Exception as exc:  # noqa: BLE001 - the relay sends unsent tasks later anyway
            logs.warning("unfinished tasks not resumed", error=repr(exc)[:300])
            bodies = []
        if bodies:
            logs.info("unfinished tasks resumed", count=len(bodies))
        for body in bodies:
            self.send(body)
        self._wake()

    def send(self, body: str, delay_s: int = 0) -> None:
        with self._cond:
            self._push(body, time.monotonic() + max(0, delay_s), 0)
        self._wake()

    def _wake(self) -> None:
        """The delivery thread runs once there is a consumer (messages sent before wait)."""
        with self._cond:
            if self._consumer is None or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(
                target=self._run, name="inline-task-worker", daemon=True
            )
            self._thread.start()

    def _push(self, body: str, visible_at: float, count: int) -> None:
        heapq.heappush(self._ready, (visible_at, next(self._receipts), body, count))
        self._cond.notify_all()

    def settle(self, receipt: str, outcome: Outcome) -> None:
        """Noted here, applied when the consumer returns (`_apply`)."""
        with self._cond:
            self._outcomes[receipt] = outcome

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

    def _next(self) -> Delivery | None:
        with self._cond:
            while not self._closed:
                if self._ready and self._ready[0][0] <= time.monotonic():
                    _, receipt, body, count = heapq.heappop(self._ready)
                    self._busy = True
                    return Delivery(body, str(receipt), count + 1)
                wait = self._ready[0][0] - time.monotonic() if self._ready else 1.0
                self._cond.wait(max(0.001, min(wait, 1.0)))
            return None

    def _run(self) -> None:
        assert self._consumer is not None
        while (delivery := self._next()) is not None:
            try:
                outcome = self._consumer(delivery, BudgetContext(self.budget_ms))
            except Exception as exc:  # noqa: BLE001 - SQS semantics: back after the timeout
                outcome = retry(int(DEFAULT_VISIBILITY_S), repr(exc)[:300])
            with self._cond:
                self._apply(delivery, self._outcomes.pop(delivery.receipt, outcome))
                self._busy = False
                self._cond.notify_all()

    def _apply(self, delivery: Delivery, outcome: Outcome) -> None:
        """The one place an outcome becomes what happens to the message."""
        if outcome.acknowledged:
            return
        if delivery.receive_count >= self.max_receives:
            self.dead_letters.append(delivery.body)
            logs.error(
                "task message dead-lettered", body=delivery.body, receives=delivery.receive_count
            )
            return
        logs.warning("task message not acknowledged; it will come back", reason=outcome.reason)
        self._push(delivery.body, time.monotonic() + outcome.delay_s, delivery.receive_count)
