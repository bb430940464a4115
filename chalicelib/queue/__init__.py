"""The queue port: background task messages, to SQS or an in-process queue."""

from __future__ import annotations

import functools
import json
from typing import Any, Protocol

from chalicelib import config


class Queue(Protocol):
    """Where task messages go; the worker (tasks.handle_message) is what reads them."""

    name: str

    def send(self, body: str, delay_s: int = 0) -> None:
        """Enqueue one message; raises BackendUnavailable("queue") when it cannot."""
        ...

    def change_visibility(self, receipt: str, timeout_s: int) -> None:
        """When a received message comes back if it is not acknowledged (the retry backoff)."""
        ...

    def stats(self) -> dict[str, Any]:
        """Depth and driver details for the health check; raises when unreachable."""
        ...

    def close(self) -> None: ...


def message(task_id: str, generation: int) -> str:
    return json.dumps({"task_id": task_id, "gen": generation}, separators=(",", ":"))


@functools.cache
def queue() -> Queue:
    url = config.backend("QUEUE_URL")
    if url:
        from chalicelib.queue.sqs import SqsQueue

        return SqsQueue(url)
    from chalicelib.queue.inline import InlineQueue

    return InlineQueue(
        budget_ms=config.inline_task_budget_ms(), max_receives=config.inline_max_receives()
    )


class BudgetContext:
    """A stand-in for Lambda's context object: a fixed time budget from its creation."""

    def __init__(self, budget_ms: int) -> None:
        import time

        self._clock = time.monotonic
        self._deadline = self._clock() + budget_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock()) * 1000))
