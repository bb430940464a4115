"""Without SQS (`make run`, the tests), the in-process queue delivers to the worker in this
process. Never in Lambda: there the inline queue is refused (config.backend) and SQS's event
source calls the worker."""

from __future__ import annotations

from chalicelib.queue import queue
from chalicelib.tasks.outbox import resume_messages
from chalicelib.tasks.worker import handle


def start() -> None:
    """Start delivering with the first task call of a process, after resuming what the last
    process left unfinished (idempotent)."""
    queue().start(handle, resume_messages)
