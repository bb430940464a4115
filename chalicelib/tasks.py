"""Background tasks: a row with progress and a checkpoint, advanced one bounded step at a time
by the worker, across as many queue messages (and Lambda invocations) as it needs.

How a message is handled, and why it is safe under at-least-once delivery, is in
docs/tasks.md. In short: a delivery must *claim* the task (a compare-and-set lease on the
row) before it runs a step; each step's checkpoint is saved only while the lease is held;
a hand-off bumps the task's `generation`, so an older copy of the message is ignored.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn, Protocol

from chalicelib import clock, config, ids, limits, logs
from chalicelib.db import OutcomeUnknown, Row, database
from chalicelib.errors import BackendUnavailable, Conflict, NotFound
from chalicelib.queue import message, queue

ACTIVE = ("queued", "running")
COLUMNS = (
    "id, tenant_id, kind, state, done, total, message, checkpoint, attempts, last_error,"
    " result, generation, lease_token, lease_until, send_us, created_us, updated_us"
)
SQL_GET = f"SELECT {COLUMNS} FROM tasks WHERE id = :id"
SQL_INSERT = (
    f"INSERT INTO tasks ({COLUMNS}) VALUES (:id, :t, :kind, 'queued', 0, NULL, :message,"
    " :checkpoint, 0, NULL, NULL, 0, NULL, NULL, :now, :now, :now)"
)
SQL_SENT = "UPDATE tasks SET send_us = NULL WHERE id = :id AND send_us = :mark"
SQL_UNSENT = (
    "SELECT id, generation, send_us FROM tasks WHERE send_us IS NOT NULL"
    " AND send_us <= :cutoff AND state IN ('queued', 'running') ORDER BY send_us LIMIT :limit"
)
SQL_CLAIM = (
    "UPDATE tasks SET state = 'running', lease_token = :token, lease_until = :until,"
    " attempts = :attempts, last_error = :error, updated_us = :now"
    " WHERE id = :id AND state IN ('queued', 'running') AND generation = :gen"
    " AND COALESCE(lease_token, '') = :old"
)
_HELD = " WHERE id = :id AND lease_token = :token AND state = 'running'"
SQL_PROGRESS = (
    "UPDATE tasks SET checkpoint = :checkpoint, done = :done, total = :total,"
    " message = :message, attempts = 0, updated_us = :now" + _HELD
)
SQL_SUCCEEDED = (
    "UPDATE tasks SET state = 'succeeded', checkpoint = '{}', done = :done, total = :total,"
    " message = :message, result = :result, attempts = 0, lease_token = NULL,"
    " lease_until = NULL, send_us = NULL, updated_us = :now" + _HELD
)
SQL_HAND_OFF = (
    "UPDATE tasks SET generation = :gen, lease_token = NULL, lease_until = NULL,"
    " send_us = :now, updated_us = :now" + _HELD
)
SQL_RETRY = (
    "UPDATE tasks SET attempts = :attempts, last_error = :error, lease_token = NULL,"
    " lease_until = NULL, updated_us = :now" + _HELD
)
SQL_FAILED = (
    "UPDATE tasks SET state = 'failed', attempts = :attempts, last_error = :error,"
    " message = :message, lease_token = NULL, lease_until = NULL, send_us = NULL,"
    " updated_us = :now WHERE id = :id AND COALESCE(lease_token, '') = :token"
    " AND state IN ('queued', 'running')"
)
SQL_CANCEL = (
    "UPDATE tasks SET state = 'cancelled', message = 'cancelled', send_us = NULL,"
    " updated_us = :now WHERE id = :id AND tenant_id = :t AND state IN ('queued', 'running')"
)
SQL_CLEARED = "UPDATE tasks SET checkpoint = '{}' WHERE id = :id AND state = :state"
SQL_RESUME = (
    "SELECT id, generation FROM tasks WHERE state IN ('queued', 'running')"
    " AND (send_us IS NULL OR send_us <= :cutoff) ORDER BY created_us LIMIT :limit"
)
INTERNAL_ERROR = "An internal error stopped a step of this task."


# --- the model ----------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    id: str
    tenant_id: str | None
    kind: str
    state: str
    done: int
    total: int | None
    message: str
    checkpoint: dict[str, Any]
    attempts: int
    last_error: str | None
    result: dict[str, Any] | None
    generation: int
    lease_token: str | None
    lease_until: int | None
    send_us: int | None
    created_us: int
    updated_us: int

    def public(self) -> dict[str, Any]:
        """The task as its tenant sees it (DESIGN.md)."""
        result = None
        if self.result is not None:
            result = kind_of(self.kind).public_result(self.result)
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": {"done": self.done, "total": self.total, "message": self.message},
            "result": result,
            "error": self.last_error,
            "created_at": clock.iso(self.created_us),
            "updated_at": clock.iso(self.updated_us),
        }


def _task(row: Row) -> Task:
    values = {name: row[name] for name in Task.__dataclass_fields__}
    values["checkpoint"] = json.loads(row["checkpoint"] or "{}")
    values["result"] = json.loads(row["result"]) if row["result"] else None
    for name in ("done", "attempts", "generation", "created_us", "updated_us"):
        values[name] = int(values[name])
    return Task(**values)


@dataclass(frozen=True)
class TaskContext:
    """What a step sees: the task's identity and where the previous step left off."""

    id: str
    tenant_id: str | None
    checkpoint: dict[str, Any]
    done: int
    total: int | None


@dataclass(frozen=True)
class Step:
    """What a step returns. A `result` ends the task (succeeded)."""

    checkpoint: dict[str, Any]
    done: int
    total: int | None
    message: str = ""
    result: dict[str, Any] | None = None


def _no_cleanup(ctx: TaskContext) -> None:
    return None


def _as_is(result: dict[str, Any]) -> dict[str, Any]:
    return result


@dataclass(frozen=True)
class Kind:
    """A task kind. `step` must be idempotent: run twice from one checkpoint, same effect.
    `cleanup` (idempotent too) undoes a cancelled or failed task's leftovers."""

    step: Callable[[TaskContext], Step]
    cleanup: Callable[[TaskContext], None] = field(default=_no_cleanup)
    public_result: Callable[[dict[str, Any]], dict[str, Any]] = field(default=_as_is)


class TaskFailed(Exception):
    """A step's permanent error: the task fails at once, without further attempts."""


class RetryLater(Exception):
    """Raised out of the worker so the queue delivers the message again (see docs/tasks.md)."""


KINDS: dict[str, Kind] = {}
_BUILTIN = {"export": "chalicelib.exports", "purge": "chalicelib.purge"}


def register(name: str, kind: Kind) -> Kind:
    KINDS[name] = kind
    return kind


def kind_of(name: str) -> Kind:
    if name not in KINDS and name in _BUILTIN:
        importlib.import_module(_BUILTIN[name])
    try:
        return KINDS[name]
    except KeyError:
        raise TaskFailed(f"unknown task kind {name!r}") from None


# --- use cases for the API ------------------------------------------------------------


def get(task_id: str) -> Task | None:
    rows = database().query(SQL_GET, id=task_id)
    return _task(rows[0]) if rows else None


def get_for(tenant_id: str, task_id: str) -> Task:
    _wake_in_process_queue()
    task = get(task_id)
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
    now = clock.now_us()
    task_id = ids.new_id()
    db = database()
    try:
        with db.transaction():
            if tenant_id is not None:
                limits.check_tasks(db, tenant_id, overrides or {})
            db.execute(
                SQL_INSERT,
                id=task_id,
                t=tenant_id,
                kind=kind,
                message="queued",
                checkpoint=json.dumps(checkpoint or {}),
                now=now,
            )
    except OutcomeUnknown as exc:
        if not (db.settle(exc) and get(task_id)):  # a read that fails is a 503 too
            raise
    _send(task_id, 0, now)
    task = get(task_id)
    assert task is not None
    return task


def active(kind: str, tenant_id: str | None = None) -> list[Task]:
    """The tenant's (or, with None, the system's) queued and running tasks of a kind."""
    _wake_in_process_queue()
    owner = "tenant_id = :t" if tenant_id is not None else "tenant_id IS NULL"
    rows = database().query(
        f"SELECT {COLUMNS} FROM tasks WHERE {owner} AND kind = :kind"
        " AND state IN ('queued', 'running') ORDER BY created_us",
        t=tenant_id,
        kind=kind,
    )
    return [_task(row) for row in rows]


def cancel(tenant_id: str, task_id: str) -> Task:
    """Mark the task cancelled; a worker running it stops after its current step."""
    task = get_for(tenant_id, task_id)
    changed = database().execute(SQL_CANCEL, id=task_id, t=tenant_id, now=clock.now_us())
    task = get_for(tenant_id, task_id)
    if not changed and task.state in ("succeeded", "failed"):
        raise Conflict(f"Task {task_id} already {task.state}.", state=task.state)
    if changed and not (task.lease_until and task.lease_until > clock.now_us()):
        _cleanup(task, task.checkpoint)  # nobody is running it: clean up now
    return task


def relay(older_than_s: float = 0, limit: int = 100) -> int:
    """Send the messages of tasks still marked "to send"; stop at the first queue failure."""
    cutoff = clock.now_us() - int(older_than_s * 1_000_000)
    rows = database().query(SQL_UNSENT, cutoff=cutoff, limit=limit)
    sent = 0
    for row in rows:
        if not _send(row["id"], int(row["generation"]), int(row["send_us"])):
            break
        sent += 1
    if rows:
        logs.info("task relay", pending=len(rows), sent=sent)
    return sent


def resume_messages(limit: int = 1000) -> list[str]:
    """For a queue that starts empty (the in-process one, whose messages died with the last
    process): a message for each unfinished task whose message is not on its way (marked
    sent, or unsent for longer than the relay waits). A running task's message meets its
    lease and comes back when the lease ends (`_Run._wait_for_lease`)."""
    cutoff = clock.now_us() - config.task_relay_after_seconds() * 1_000_000
    rows = database().query(SQL_RESUME, cutoff=cutoff, limit=limit)
    return [message(row["id"], int(row["generation"])) for row in rows]


def _wake_in_process_queue() -> None:
    """Without SQS (`make run`) the in-process queue starts with the first task call of a
    process, and resumes what the previous process left unfinished."""
    if not config.get("QUEUE_URL"):
        queue()


def _send(task_id: str, generation: int, mark: int) -> bool:
    try:
        queue().send(message(task_id, generation))
    except BackendUnavailable as exc:
        logs.warning("task message not sent; the relay will retry", task=task_id, error=exc.detail)
        return False
    try:
        database().execute(SQL_SENT, id=task_id, mark=mark)
    except BackendUnavailable as exc:  # sent twice later at worst: the worker dedups
        logs.warning("task sent but its mark kept", task=task_id, error=exc.detail)
    return True


# --- the worker -------------------------------------------------------------------------


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Delivery:
    """One received message: its body, the receipt to change its visibility, receive count."""

    body: str
    receipt: str
    receive_count: int = 1


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


def handle_message(delivery: Delivery, context: LambdaContext) -> None:
    """Run one message. Returning acknowledges it; raising has the queue deliver it again
    (after the visibility timeout set here) and, after maxReceiveCount, dead-letter it."""
    try:
        task_id, generation = parse(delivery.body)
    except ValueError as exc:
        logs.error("unparseable task message", body=delivery.body[:200], error=str(exc))
        _set_visibility(delivery, 0)
        raise RetryLater(f"unparseable task message: {exc}") from exc
    logs.reset(task_id=task_id, receive_count=delivery.receive_count)
    _Run(task_id, generation, delivery, context).run()
    try:
        relay(older_than_s=config.task_relay_after_seconds(), limit=10)
    except Exception as exc:  # noqa: BLE001 - the relay is best effort here; daily is the net
        logs.warning("relay skipped", error=repr(exc)[:200])


class _Run:
    def __init__(
        self, task_id: str, generation: int | None, delivery: Delivery, context: LambdaContext
    ) -> None:
        self.task_id = task_id
        self.generation = generation
        self.delivery = delivery
        self.context = context
        self.token = ids.new_id()

    def run(self) -> None:
        task = get(self.task_id)
        if task is None:
            logs.warning("message for an unknown task; dropped")
            return
        if task.state == "failed":
            # Keep failing: the redrive policy moves the message to the dead-letter queue.
            _set_visibility(self.delivery, 0)
            raise RetryLater(f"task {task.id} failed: {task.last_error}")
        if task.state not in ACTIVE:
            logs.info("message for a finished task; dropped", state=task.state)
            return
        if self.generation is not None and self.generation != task.generation:
            self._stale(task)
            return
        claimed = self._claim(task)
        if claimed is not None:
            self._steps(claimed)

    def _stale(self, task: Task) -> None:
        """An older copy of a message that was handed off: resend the hand-off if unsent."""
        logs.info("stale task message; dropped", message_gen=self.generation, gen=task.generation)
        if task.send_us is not None and not _send(task.id, task.generation, task.send_us):
            _set_visibility(self.delivery, config.retry_after_seconds())
            raise RetryLater("the queue is unreachable: the hand-off is not sent yet")

    def _claim(self, task: Task) -> Task | None:
        now = clock.now_us()
        if task.lease_until is not None and task.lease_until > now:
            self._wait_for_lease(task.lease_until - now)
        abandoned = task.lease_token is not None
        attempts = task.attempts + int(abandoned)
        error = "the worker stopped in the middle of a step" if abandoned else task.last_error
        until = now + int(self.context.get_remaining_time_in_millis()) * 1000 + 1_000_000
        params = {"until": until, "attempts": attempts, "error": error, "now": now}
        if not self._claimed(task, params):
            logs.info("task claimed by another delivery; duplicate message dropped")
            return None
        task = replace(task, state="running", lease_token=self.token, attempts=attempts)
        if abandoned and attempts >= config.task_max_attempts():
            self._give_up(task, error or "", attempts)
        return replace(task, last_error=error)

    def _claimed(self, task: Task, params: dict[str, Any]) -> bool:
        """The compare-and-set of the lease. Its reply may be lost after it ran: it is never
        sent again blindly (a second run would match nothing); the row says who holds it."""
        try:
            return bool(
                database().execute(
                    SQL_CLAIM,
                    token=self.token,
                    id=task.id,
                    gen=task.generation,
                    old=task.lease_token or "",
                    **params,
                )
            )
        except BackendUnavailable as exc:
            logs.warning("task claim outcome unknown; reading the task", error=exc.detail)
            now_task = get(task.id)  # raises if still unreachable: the message comes back
            if now_task is not None and now_task.lease_token == self.token:
                return True
            raise  # not ours: the message comes back and meets the task as it is then

    def _wait_for_lease(self, left_us: int) -> NoReturn:
        """Another delivery holds a live lease: come back when it ends. If its holder is
        alive it has finished or handed off by then (dropped as done or stale); if it died,
        this delivery takes the task over. Acknowledging now could leave it stuck."""
        wait_s = min(12 * 3600, left_us // 1_000_000 + 1)
        logs.info(
            "task is running elsewhere; this message comes back after its lease", wait_s=wait_s
        )
        _set_visibility(self.delivery, wait_s)
        raise RetryLater(f"task {self.task_id} is leased for {wait_s} s more")

    def _kind(self, task: Task) -> Kind:
        try:
            return kind_of(task.kind)
        except TaskFailed as exc:
            self._give_up(task, str(exc), task.attempts + 1)
            raise AssertionError("unreachable") from exc

    def _time_is_short(self, longest_ms: float) -> bool:
        left = self.context.get_remaining_time_in_millis()
        return left < config.task_safety_factor() * longest_ms + config.task_margin_ms()

    def _steps(self, task: Task) -> None:
        kind = self._kind(task)
        longest_ms = 0.0
        steps = 0
        while True:
            if steps and self._time_is_short(longest_ms):
                self._hand_off(task, steps)
                return
            ctx = TaskContext(task.id, task.tenant_id, task.checkpoint, task.done, task.total)
            started = time.perf_counter()
            try:
                step = kind.step(ctx)
            except Exception as exc:  # noqa: BLE001 - every step error is recorded
                self._step_failed(task, exc)
                return
            longest_ms = max(longest_ms, (time.perf_counter() - started) * 1000)
            steps += 1
            if not self._save(task, step):
                self._lost(task, step.checkpoint)
                return
            if step.result is not None:
                logs.info("task succeeded", kind=task.kind, done=step.done, steps=steps)
                return
            task = replace(
                task, checkpoint=step.checkpoint, done=step.done, total=step.total, attempts=0
            )

    def _save(self, task: Task, step: Step) -> bool:
        params: dict[str, Any] = {
            "done": step.done,
            "total": step.total,
            "message": step.message[:255],
            "now": clock.now_us(),
            "id": task.id,
            "token": self.token,
        }
        if step.result is not None:
            return bool(database().execute(SQL_SUCCEEDED, result=json.dumps(step.result), **params))
        checkpoint = json.dumps(step.checkpoint, separators=(",", ":"))
        return bool(database().execute(SQL_PROGRESS, checkpoint=checkpoint, **params))

    def _lost(self, task: Task, checkpoint: dict[str, Any]) -> None:
        """The save found the task cancelled (clean up) or claimed by another delivery."""
        now_task = get(task.id)
        if now_task is not None and now_task.state == "cancelled":
            logs.info("task cancelled; stopped")
            _cleanup(now_task, checkpoint)
        else:
            logs.warning("task lease lost; another delivery carries on")

    def _hand_off(self, task: Task, steps: int) -> None:
        """Little time left: release the task and enqueue its next generation."""
        now = clock.now_us()
        generation = task.generation + 1
        released = database().execute(
            SQL_HAND_OFF, gen=generation, now=now, id=task.id, token=self.token
        )
        if not released:
            self._lost(task, task.checkpoint)
            return
        logs.info("task handed off", steps=steps, done=task.done, gen=generation)
        if not _send(task.id, generation, now):
            # This message comes back, finds itself stale and resends the hand-off.
            _set_visibility(self.delivery, config.retry_after_seconds())
            raise RetryLater("the queue is unreachable: the hand-off is not sent yet")

    def _step_failed(self, task: Task, exc: Exception) -> None:
        error = _describe(exc)
        attempts = task.attempts + 1
        logs.warning("task step failed", kind=task.kind, attempts=attempts, error=repr(exc)[:1000])
        if isinstance(exc, TaskFailed) or attempts >= config.task_max_attempts():
            self._give_up(task, error, attempts)
        retried = database().execute(
            SQL_RETRY,
            attempts=attempts,
            error=error,
            now=clock.now_us(),
            id=task.id,
            token=self.token,
        )
        if not retried:
            self._lost(task, task.checkpoint)
            return
        _set_visibility(self.delivery, config.task_backoff_seconds(attempts))
        raise RetryLater(f"task step failed (attempt {attempts}): {error}") from exc

    def _give_up(self, task: Task, error: str, attempts: int) -> NoReturn:
        failed = database().execute(
            SQL_FAILED,
            attempts=attempts,
            error=error,
            message="failed",
            now=clock.now_us(),
            id=task.id,
            token=self.token,
        )
        if failed:
            logs.error("task failed", kind=task.kind, attempts=attempts, error=error)
            _cleanup(replace(task, state="failed"), task.checkpoint)
        _set_visibility(self.delivery, 0)
        raise RetryLater(f"task {task.id} failed: {error}")


def _describe(exc: Exception) -> str:
    """The error a tenant sees: a clear, stable sentence, never internal exception text (the
    details go to the log, with the task's id)."""
    if isinstance(exc, TaskFailed):
        return str(exc)[:1000]  # written for the tenant by the task kind
    if isinstance(exc, BackendUnavailable):
        return exc.message
    return INTERNAL_ERROR


def _cleanup(task: Task, checkpoint: dict[str, Any]) -> None:
    """Best effort: what is left behind is removed by the purge or the bucket's lifecycle."""
    if not checkpoint:
        return
    try:
        kind = kind_of(task.kind)
        kind.cleanup(TaskContext(task.id, task.tenant_id, checkpoint, task.done, task.total))
        database().execute(SQL_CLEARED, id=task.id, state=task.state)
    except Exception as exc:  # noqa: BLE001
        logs.warning("task cleanup incomplete", task=task.id, error=repr(exc)[:300])


def _set_visibility(delivery: Delivery, timeout_s: int) -> None:
    try:
        queue().change_visibility(delivery.receipt, timeout_s)
    except Exception as exc:  # noqa: BLE001 - the queue's own visibility timeout applies
        logs.warning("message visibility not changed", error=repr(exc)[:200])
