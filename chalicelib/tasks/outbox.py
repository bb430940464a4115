"""The outbox: a task's message is marked "to send" in the row (in the transaction that
creates or hands off the task), sent after commit, and unmarked once sent. What a failed
send leaves marked, the relay sends later; the worker drops duplicates (docs/tasks.md)."""

from __future__ import annotations

import json

from chalicelib import clock, config, logs
from chalicelib.errors import BackendUnavailable
from chalicelib.queue import queue
from chalicelib.tasks.store import mark_sent, resumable, unsent


def message(task_id: str, generation: int) -> str:
    return json.dumps({"task_id": task_id, "gen": generation}, separators=(",", ":"))


def parse(body: str) -> tuple[str, int | None]:
    """The task id and generation of a message; ValueError when it is not one of ours."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("task_id"), str):
        raise ValueError('no "task_id"')
    generation = data.get("gen")
    if generation is not None and not isinstance(generation, int):
        raise ValueError('"gen" is not an integer')
    return data["task_id"], generation


def send(task_id: str, generation: int, mark: int) -> bool:
    """Send the message, then clear its mark (if still `mark`); False if the queue failed."""
    try:
        queue().send(message(task_id, generation))
    except BackendUnavailable as exc:
        logs.warning("task message not sent; the relay will retry", task=task_id, error=exc.detail)
        return False
    try:
        mark_sent(task_id, mark)
    except BackendUnavailable as exc:  # sent twice later at worst: the worker dedups
        logs.warning("task sent but its mark kept", task=task_id, error=exc.detail)
    return True


def relay(older_than_s: float = 0, limit: int = 100) -> int:
    """Send the messages of tasks still marked "to send"; stop at the first queue failure."""
    cutoff = clock.now_us() - int(older_than_s * 1_000_000)
    pending = unsent(cutoff, limit)
    sent = 0
    for task_id, generation, mark in pending:
        if not send(task_id, generation, mark):
            break
        sent += 1
    if pending:
        logs.info("task relay", pending=len(pending), sent=sent)
    return sent


def resume_messages(limit: int = 1000) -> list[str]:
    """For a queue that starts empty (the in-process one, whose messages died with the last
    process): a message for each unfinished task whose message is not on its way (marked
    sent, or unsent for longer than the relay waits). A running task's message meets its
    lease and comes back when the lease ends (see the worker)."""
    cutoff = clock.now_us() - config.task_relay_after_seconds() * 1_000_000
    return [message(task_id, gen) for task_id, gen in resumable(cutoff, limit)]
