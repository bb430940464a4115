"""The purge task run to its end in this thread, step after step, as the worker would."""

from __future__ import annotations


def run_purge() -> None:
    from chalicelib.tasks import TaskContext
    from chalicelib.tasks.kinds import purge

    ctx = TaskContext("purge", None, {}, 0, None)
    while (step := purge.step(ctx)).result is None:
        ctx = TaskContext("purge", None, step.checkpoint, step.done, step.total)
