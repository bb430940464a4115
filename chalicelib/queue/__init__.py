"""The queue port: background task messages, to SQS or an in-process queue.

The types (Queue, Delivery, Outcome, ...) are in `queue/base.py`, which the drivers import;
this module only picks the driver. A queue never calls up into the task system: the
in-process queue is handed its consumer when it is started (`Queue.start`)."""

from __future__ import annotations

import functools

from chalicelib import config
from chalicelib.queue.base import Queue


@functools.cache
def queue() -> Queue:
    url = config.backend("QUEUE_URL")
    if url:
        from chalicelib.queue.sqs import SqsQueue

        return SqsQueue(url)
    from chalicelib.queue.memory import InlineQueue

    return InlineQueue(
        budget_ms=config.inline_task_budget_ms(), max_receives=config.inline_max_receives()
    )
