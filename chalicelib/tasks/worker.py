"""The worker: one delivery of a task's message runs the task's steps while time is left,
and answers what the queue must do with the message (an Outcome; the queue applies it).

Why this is safe under at-least-once delivery is in docs/tasks.md. In short: a delivery
must *claim* the task (a compare-and-set lease on the row) before it runs a step; each
step's checkpoint is saved only while the lease is held; a hand-off bumps the task's
`generation`, so an older copy of the message is dropped."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from chalicelib import clock, config, ids, logs
from chalicelib.errors import BackendUnavailable
from chalicelib.queue.base import ACK, Delivery, Outcome, RemainingTime, dead_letter, retry
from chalicelib.tasks.model import ACTIVE, INTERNAL_ERROR, Task, TaskFailed, find_kind
from chalicelib.tasks.outbox import parse, relay, send
from chalicelib.tasks.store import (
    claim,
    clean_up,
    fail,
    get,
    hand_off,
    release_for_retry,
    save,
)

ABANDONED = "the worker stopped in the middle of a step"


def _resend_later() -> Outcome:
    """The hand-off's message could not be sent: this one comes back, finds itself stale
    and sends it again."""
    return retry(
        config.retry_after_seconds(), "the queue is unreachable: the hand-off is not sent yet"
    )


def handle(delivery: Delivery, context: RemainingTime) -> Outcome:
    """Run one message. An error the worker did not expect (a backend down) is raised: the
    queue delivers the message again after its own visibility timeout."""
    try:
        task_id, generation = parse(delivery.body)
    except ValueError as exc:
        logs.error("unparseable task message", body=delivery.body[:200], error=str(exc))
        return dead_letter(f"unparseable task message: {exc}")
    logs.reset(task_id=task_id, receive_count=delivery.receive_count)
    outcome = _Run(task_id, generation, context).run()
    if outcome.acknowledged:
        try:
            relay(older_than_s=config.task_relay_after_seconds(), limit=10)
        except Exception as exc:  # noqa: BLE001 - the relay is best effort here; daily is the net
            logs.warning("relay skipped", error=repr(exc)[:200])
    return outcome


class _Run:
    def __init__(self, task_id: str, generation: int | None, context: RemainingTime) -> None:
        self.task_id = task_id
        self.generation = generation
        self.context = context
        self.token = ids.new_id()

    def run(self) -> Outcome:
        task = get(self.task_id)
        if task is None:
            logs.warning("message for an unknown task; dropped")
            return ACK
        if task.state == "failed":  # the redrive policy moves the message to the DLQ
            return dead_letter(f"task {task.id} failed: {task.last_error}")
        if task.state not in ACTIVE:
            logs.info("message for a finished task; dropped", state=task.state)
            return ACK
        if self.generation is not None and self.generation != task.generation:
            return self._stale(task)
        return self._claim(task)

    def _stale(self, task: Task) -> Outcome:
        """An older copy of a message that was handed off: resend the hand-off if unsent."""
        logs.info("stale task message; dropped", message_gen=self.generation, gen=task.generation)
        if task.send_us is not None and not send(task.id, task.generation, task.send_us):
            return _resend_later()
        return ACK

    def _claim(self, task: Task) -> Outcome:
        now = clock.now_us()
        if task.lease_until is not None and task.lease_until > now:
            return self._wait_for_lease(task.lease_until - now)
        abandoned = task.lease_token is not None
        attempts = task.attempts + int(abandoned)
        error = ABANDONED if abandoned else task.last_error
        until = now + int(self.context.get_remaining_time_in_millis()) * 1000 + 1_000_000
        if not self._claimed(task, until, attempts, error):
            logs.info("task claimed by another delivery; duplicate message dropped")
            return ACK
        task = replace(task, state="running", lease_token=self.token, attempts=attempts)
        if abandoned and attempts >= config.task_max_attempts():
            return self._give_up(task, error or "", attempts)
        return self._steps(replace(task, last_error=error))

    def _claimed(self, task: Task, until: int, attempts: int, error: str | None) -> bool:
        """The lease's compare-and-set. Its reply may be lost after it ran: it is never sent
        again blindly (a second run would match nothing); the row says who holds it."""
        try:
            return claim(task, self.token, until, attempts, error)
        except BackendUnavailable as exc:
            logs.warning("task claim outcome unknown; reading the task", error=exc.detail)
            now_task = get(task.id)  # raises if still unreachable: the message comes back
            if now_task is not None and now_task.lease_token == self.token:
                return True
            raise  # not ours: the message comes back and meets the task as it is then

    def _wait_for_lease(self, left_us: int) -> Outcome:
        """Another delivery holds a live lease: come back when it ends. If its holder is
        alive it has finished or handed off by then (dropped as done or stale); if it died,
        this delivery takes the task over. Acknowledging now could leave it stuck."""
        wait_s = min(12 * 3600, left_us // 1_000_000 + 1)
        logs.info(
            "task is running elsewhere; this message comes back after its lease", wait_s=wait_s
        )
        return retry(wait_s, f"task {self.task_id} is leased for {wait_s} s more")

    def _time_is_short(self, longest_ms: float) -> bool:
        left = self.context.get_remaining_time_in_millis()
        return left < config.task_safety_factor() * longest_ms + config.task_margin_ms()

    def _steps(self, task: Task) -> Outcome:
        kind = find_kind(task.kind)
        if kind is None:
            return self._give_up(task, f"unknown task kind {task.kind!r}", task.attempts + 1)
        longest_ms, steps = 0.0, 0
        while not (steps and self._time_is_short(longest_ms)):
            started = time.perf_counter()
            try:
                step = kind.step(task.context())
            except Exception as exc:  # noqa: BLE001 - every step error is recorded
                return self._step_failed(task, exc)
            longest_ms = max(longest_ms, (time.perf_counter() - started) * 1000)
            steps += 1
            if not save(task.id, self.token, step):
                return self._lost(task, step.checkpoint)
            if step.result is not None:
                logs.info("task succeeded", kind=task.kind, done=step.done, steps=steps)
                return ACK
            task = replace(
                task, checkpoint=step.checkpoint, done=step.done, total=step.total, attempts=0
            )
        return self._hand_off(task, steps)

    def _lost(self, task: Task, checkpoint: dict[str, Any]) -> Outcome:
        """The save found the task cancelled (clean up) or claimed by another delivery."""
        now_task = get(task.id)
        if now_task is not None and now_task.state == "cancelled":
            logs.info("task cancelled; stopped")
            clean_up(now_task, checkpoint)
        else:
            logs.warning("task lease lost; another delivery carries on")
        return ACK

    def _hand_off(self, task: Task, steps: int) -> Outcome:
        """Little time left: release the task and enqueue its next generation."""
        now = clock.now_us()
        generation = task.generation + 1
        if not hand_off(task.id, self.token, generation, now):
            return self._lost(task, task.checkpoint)
        logs.info("task handed off", steps=steps, done=task.done, gen=generation)
        if not send(task.id, generation, now):
            return _resend_later()  # this message comes back stale and resends it
        return ACK

    def _step_failed(self, task: Task, exc: Exception) -> Outcome:
        error = describe(exc)
        attempts = task.attempts + 1
        logs.warning("task step failed", kind=task.kind, attempts=attempts, error=repr(exc)[:1000])
        if isinstance(exc, TaskFailed) or attempts >= config.task_max_attempts():
            return self._give_up(task, error, attempts)
        if not release_for_retry(task.id, self.token, attempts, error):
            return self._lost(task, task.checkpoint)
        delay = config.task_backoff_seconds(attempts)
        return retry(delay, f"task step failed (attempt {attempts}): {error}")

    def _give_up(self, task: Task, error: str, attempts: int) -> Outcome:
        if fail(task.id, self.token, attempts, error):
            logs.error("task failed", kind=task.kind, attempts=attempts, error=error)
            clean_up(replace(task, state="failed"), task.checkpoint)
        return dead_letter(f"task {task.id} failed: {error}")


def describe(exc: Exception) -> str:
    """The error a tenant sees: a clear, stable sentence, never internal exception text (the
    details go to the log, with the task's id)."""
    if isinstance(exc, TaskFailed):
        return str(exc)[:1000]  # written for the tenant by the task kind
    if isinstance(exc, BackendUnavailable):
        return exc.message
    return INTERNAL_ERROR
