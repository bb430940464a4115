"""Background tasks: a row with progress and a checkpoint, advanced one bounded step at a time
by the worker, across as many queue messages (and Lambda invocations) as it needs.

This module is what the rest of the app calls: the use cases of the API and the schedules,
and the Lambda SQS handler's entry. The parts: `model` (Task, Kind, Step, TaskContext),
`store` (the SQL of every state transition), `outbox` (the message format, sending and the
relay), `worker` (one delivery, answered with a queue Outcome). docs/tasks.md tells why it
is safe under at-least-once delivery."""

from __future__ import annotations

from typing import Any

from chalicelib import clock, config, ids, logs
from chalicelib.db import OutcomeUnknown, database
from chalicelib.errors import Conflict, NotFound
from chalicelib.queue import queue
from chalicelib.queue.base import Delivery, NotAcknowledged, RemainingTime
from chalicelib.tasks import outbox, store, worker
from chalicelib.tasks.model import (
    INTERNAL_ERROR,
    Kind,
    Step,
    Task,
    TaskContext,
    TaskFailed,
    kind_of,
    register,
)
from chalicelib.tenants import limits

__all__ = [
    "INTERNAL_ERROR",
    "Delivery",
    "Kind",
    "NotAcknowledged",
    "Step",
    "Task",
    "TaskContext",
    "TaskFailed",
    "register",
]


def get(task_id: str) -> Task | None:
    return store.get(task_id)


def get_for(tenant_id: str, task_id: str) -> Task:
    _start_in_process_queue()
    task = store.get(task_id)
    if task is None or task.tenant_id != tenant_id:
        raise NotFound(f"No task {task_id}.")
    return task


def create(
    tenant_id: str | None,
    kind: str,
    checkpoint: dict[str, Any] | None = None,
    overrides: dict[str, int | None] | None = None,
) -> Task:
    """Write the task with its "to send" mark in one transaction, then try to send it.

    If the queue is unreachable the task is still created: the relay sends it later.
    A tenant's task counts against its running-tasks quota (`overrides` of the tenant).
    """
    kind_of(kind)
    _start_in_process_queue()
    now = clock.now_us()
    task_id = ids.new_id()
    db = database()
    try:
        with db.transaction():
            if tenant_id is not None:
                limits.check_tasks(tenant_id, overrides or {})
            store.insert((task_id, tenant_id, kind), checkpoint or {}, now)
    except OutcomeUnknown as exc:
        if not (db.settle(exc) and store.get(task_id)):  # a read that fails is a 503 too
            raise
    outbox.send(task_id, 0, now)
    task = store.get(task_id)
    assert task is not None
    return task


def active(kind: str, tenant_id: str | None = None) -> list[Task]:
    """The tenant's (or, with None, the system's) queued and running tasks of a kind."""
    _start_in_process_queue()
    return store.active(kind, tenant_id)


def cancel(tenant_id: str, task_id: str) -> Task | None:
    """Mark the task cancelled; a worker running it stops after its current step. A succeeded
    task is deleted with what it keeps (an export's archive): None."""
    task = get_for(tenant_id, task_id)
    changed = store.cancel(task_id, tenant_id)
    task = get_for(tenant_id, task_id)
    if not changed and task.state == "succeeded":
        kind_of(task.kind).discard(task.result or {})  # first: a failure keeps the task
        store.delete(task_id, tenant_id)
        return None
    if not changed and task.state == "failed":
        raise Conflict(f"Task {task_id} already {task.state}.", state=task.state)
    if changed and not (task.lease_until and task.lease_until > clock.now_us()):
        store.clean_up(task, task.checkpoint)  # nobody is running it: clean up now
    return task


def relay(older_than_s: float = 0, limit: int = 100) -> int:
    """Send the messages of tasks still marked "to send" (the daily schedule's safety net)."""
    _start_in_process_queue()
    return outbox.relay(older_than_s, limit)


def handle_message(delivery: Delivery, context: RemainingTime) -> None:
    """The Lambda SQS handler's entry. Returning acknowledges the message (the event source
    deletes it); any other outcome is applied to the message, and NotAcknowledged raised so
    that the event source leaves it on the queue."""
    outcome = worker.handle(delivery, context)
    if outcome.acknowledged:
        return
    try:
        queue().settle(delivery.receipt, outcome)
    except Exception as exc:  # noqa: BLE001 - the queue's own visibility timeout applies
        logs.warning("message visibility not changed", error=repr(exc)[:200])
    raise NotAcknowledged(outcome.reason)


def _start_in_process_queue() -> None:
    if not config.get("QUEUE_URL"):
        from chalicelib.tasks import local_worker

        local_worker.start()
