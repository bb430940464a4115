"""The tasks table: every read and state transition of a task, in SQL written once.

A transition of a running task holds its lease (`token`): it matches nothing once the task
was cancelled or claimed by another delivery, and says so by returning False."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import clock, logs
from chalicelib.db import database, in_list
from chalicelib.tasks.model import Step, Task, from_row, kind_of

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
    " message = 'failed', lease_token = NULL, lease_until = NULL, send_us = NULL,"
    " updated_us = :now WHERE id = :id AND COALESCE(lease_token, '') = :token"
    " AND state IN ('queued', 'running')"
)
SQL_CANCEL = (
    "UPDATE tasks SET state = 'cancelled', message = 'cancelled', send_us = NULL,"
    " updated_us = :now WHERE id = :id AND tenant_id = :t AND state IN ('queued', 'running')"
)
SQL_DELETE = "DELETE FROM tasks WHERE id = :id AND tenant_id = :t"
SQL_FINISHED_BEFORE = (
    "SELECT id FROM tasks WHERE state IN ('succeeded', 'failed', 'cancelled')"
    " AND updated_us < :cutoff LIMIT :limit"
)
SQL_CLEARED = "UPDATE tasks SET checkpoint = '{}' WHERE id = :id AND state = :state"
SQL_RESUME = (
    "SELECT id, generation FROM tasks WHERE state IN ('queued', 'running')"
    " AND (send_us IS NULL OR send_us <= :cutoff) ORDER BY created_us LIMIT :limit"
)


def get(task_id: str) -> Task | None:
    rows = database().query(SQL_GET, id=task_id)
    return from_row(rows[0]) if rows else None


def get_many(task_ids: list[str]) -> dict[str, Task]:
    """The tasks of those ids that exist, by id."""
    if not task_ids:
        return {}
    placeholders, params = in_list("i", task_ids)
    rows = database().query(f"SELECT {COLUMNS} FROM tasks WHERE id IN {placeholders}", **params)
    return {str(row["id"]): from_row(row) for row in rows}


def insert(task: tuple[str, str | None, str], cp: dict[str, Any], now: int) -> None:
    """The new task (id, tenant, kind), marked "to send" at `now`, in the caller's transaction."""
    task_id, tenant_id, kind = task
    database().execute(
        SQL_INSERT,
        id=task_id,
        t=tenant_id,
        kind=kind,
        message="queued",
        checkpoint=json.dumps(cp),
        now=now,
    )


def active(kind: str, tenant_id: str | None) -> list[Task]:
    owner = "tenant_id = :t" if tenant_id is not None else "tenant_id IS NULL"
    rows = database().query(
        f"SELECT {COLUMNS} FROM tasks WHERE {owner} AND kind = :kind"
        " AND state IN ('queued', 'running') ORDER BY created_us",
        t=tenant_id,
        kind=kind,
    )
    return [from_row(row) for row in rows]


def unsent(cutoff: int, limit: int) -> list[tuple[str, int, int]]:
    """(id, generation, send mark) of the unfinished tasks marked "to send" by `cutoff`."""
    rows = database().query(SQL_UNSENT, cutoff=cutoff, limit=limit)
    return [(row["id"], int(row["generation"]), int(row["send_us"])) for row in rows]


def resumable(cutoff: int, limit: int) -> list[tuple[str, int]]:
    """(id, generation) of the unfinished tasks sent, or unsent since before `cutoff`."""
    rows = database().query(SQL_RESUME, cutoff=cutoff, limit=limit)
    return [(row["id"], int(row["generation"])) for row in rows]


def mark_sent(task_id: str, mark: int) -> None:
    database().execute(SQL_SENT, id=task_id, mark=mark)


def claim(task: Task, token: str, until: int, attempts: int, error: str | None) -> bool:
    """The compare-and-set of the lease: the task as read, unleased or with the lease read."""
    return bool(
        database().execute(
            SQL_CLAIM,
            token=token,
            until=until,
            attempts=attempts,
            error=error,
            now=clock.now_us(),
            id=task.id,
            gen=task.generation,
            old=task.lease_token or "",
        )
    )


def save(task_id: str, token: str, step: Step) -> bool:
    """A step's progress and checkpoint; with a result, the task succeeded."""
    params: dict[str, Any] = {
        "done": step.done,
        "total": step.total,
        "message": step.message[:255],
        "now": clock.now_us(),
        "id": task_id,
        "token": token,
    }
    db = database()
    if step.result is not None:
        return bool(db.execute(SQL_SUCCEEDED, result=json.dumps(step.result), **params))
    checkpoint = json.dumps(step.checkpoint, separators=(",", ":"))
    return bool(db.execute(SQL_PROGRESS, checkpoint=checkpoint, **params))


def hand_off(task_id: str, token: str, generation: int, now: int) -> bool:
    """Release the lease and mark the next generation's message "to send" (at `now`)."""
    return bool(database().execute(SQL_HAND_OFF, gen=generation, now=now, id=task_id, token=token))


def release_for_retry(task_id: str, token: str, attempts: int, error: str) -> bool:
    return bool(
        database().execute(
            SQL_RETRY, attempts=attempts, error=error, now=clock.now_us(), id=task_id, token=token
        )
    )


def fail(task_id: str, token: str, attempts: int, error: str) -> bool:
    return bool(
        database().execute(
            SQL_FAILED, attempts=attempts, error=error, now=clock.now_us(), id=task_id, token=token
        )
    )


def delete(task_id: str, tenant_id: str) -> None:
    database().execute(SQL_DELETE, id=task_id, t=tenant_id)


def cancel(task_id: str, tenant_id: str) -> bool:
    return bool(database().execute(SQL_CANCEL, id=task_id, t=tenant_id, now=clock.now_us()))


def clean_up(task: Task, checkpoint: dict[str, Any]) -> None:
    """Best effort: what is left behind is removed by the purge or the bucket's lifecycle."""
    if not checkpoint:
        return
    try:
        kind_of(task.kind).cleanup(task.context(checkpoint))
        database().execute(SQL_CLEARED, id=task.id, state=task.state)
    except Exception as exc:  # noqa: BLE001
        logs.warning("task cleanup incomplete", task=task.id, error=repr(exc)[:300])


def remove_finished(cutoff: int, limit: int) -> int:
    """Delete up to `limit` tasks that finished before `cutoff`; how many were deleted."""
    db = database()
    task_ids = [str(row["id"]) for row in db.query(SQL_FINISHED_BEFORE, cutoff=cutoff, limit=limit)]
    if task_ids:
        placeholders, params = in_list("i", task_ids)
        db.execute(f"DELETE FROM tasks WHERE id IN {placeholders}", **params)
    return len(task_ids)
