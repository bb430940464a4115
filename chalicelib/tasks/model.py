"""The task model: a task as stored, what a step sees and returns, and the kinds of task."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib import clock
from chalicelib.db import Row

ACTIVE = ("queued", "running")
INTERNAL_ERROR = "An internal error stopped a step of this task."


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

    def context(self, checkpoint: dict[str, Any] | None = None) -> TaskContext:
        cp = self.checkpoint if checkpoint is None else checkpoint
        return TaskContext(self.id, self.tenant_id, cp, self.done, self.total)


def from_row(row: Row) -> Task:
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


def _nothing_kept(result: dict[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class Kind:
    """A task kind. `step` must be idempotent: run twice from one checkpoint, same effect.
    `cleanup` (idempotent too) undoes a cancelled or failed task's leftovers; `discard`
    (idempotent) deletes what a succeeded task keeps for its tenant (an export's archive)."""

    step: Callable[[TaskContext], Step]
    cleanup: Callable[[TaskContext], None] = field(default=_no_cleanup)
    public_result: Callable[[dict[str, Any]], dict[str, Any]] = field(default=_as_is)
    discard: Callable[[dict[str, Any]], None] = field(default=_nothing_kept)


class TaskFailed(Exception):
    """A step's permanent error: the task fails at once, without further attempts."""


KINDS: dict[str, Kind] = {}
# The built-in kinds register themselves when their module is first imported.
_BUILTIN = {"export": "chalicelib.tasks.kinds.export", "purge": "chalicelib.tasks.kinds.purge"}


def register(name: str, kind: Kind) -> Kind:
    KINDS[name] = kind
    return kind


def find_kind(name: str) -> Kind | None:
    if name not in KINDS and name in _BUILTIN:
        importlib.import_module(_BUILTIN[name])
    return KINDS.get(name)


def kind_of(name: str) -> Kind:
    kind = find_kind(name)
    if kind is None:
        raise TaskFailed(f"unknown task kind {name!r}")
    return kind
