"""The queue port's types, a leaf: what a queue is, what it hands its consumer, and what the
consumer answers. Drivers import this module, never the port's factory."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol


class RemainingTime(Protocol):
    """Lambda's context object, as far as a consumer needs it."""

    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Delivery:
    """One received message: its body, the receipt that settles it, its receive count."""

    body: str
    receipt: str
    receive_count: int = 1


@dataclass(frozen=True)
class Outcome:
    """What the consumer wants done with a delivery: `ack` removes it, `retry` has it come
    back after `delay_s`, `dead_letter` lets it go to the dead-letter queue (it comes back at
    once until its receive count reaches the queue's bound, as SQS's redrive policy does)."""

    action: Literal["ack", "retry", "dead_letter"]
    delay_s: int = 0
    reason: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.action == "ack"


ACK = Outcome("ack")


def retry(delay_s: int, reason: str) -> Outcome:
    return Outcome("retry", max(0, int(delay_s)), reason)


def dead_letter(reason: str) -> Outcome:
    return Outcome("dead_letter", 0, reason)


Consumer = Callable[[Delivery, RemainingTime], Outcome]
"""Runs one delivery; raising is a retry after the queue's own visibility timeout."""


class NotAcknowledged(Exception):
    """Raised to Lambda's event source so that it leaves the message on the queue (the
    outcome has already been applied to it)."""


class Queue(Protocol):
    """Where task messages go, and how a received one is settled."""

    name: str

    def send(self, body: str, delay_s: int = 0) -> None:
        """Enqueue one message; raises BackendUnavailable("queue") when it cannot."""
        ...

    def start(self, consumer: Consumer, pending: Callable[[], list[str]]) -> None:
        """Deliver to `consumer` in this process, first the bodies `pending()` returns (the
        in-process queue); SQS delivers through Lambda's event source, so it ignores this."""
        ...

    def settle(self, receipt: str, outcome: Outcome) -> None:
        """Apply a consumer's outcome to a received message."""
        ...

    def stats(self) -> dict[str, Any]:
        """Depth and driver details for the health check; raises when unreachable."""
        ...

    def close(self) -> None: ...


class BudgetContext:
    """A stand-in for Lambda's context object: a fixed time budget from its creation."""

    def __init__(self, budget_ms: int) -> None:
        self._deadline = time.monotonic() + budget_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
