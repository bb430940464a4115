"""What stands in on a laptop for AWS's triggers of the app's functions:

- `python -m tools.local_triggers run-schedule NAME` (`make run-schedule`): invoke a
  scheduled function now, as EventBridge would, then wait for the in-process tasks it queued;
- `python -m tools.local_triggers worker` (`make worker`): long-poll QUEUE_URL forever and
  run each message with the task worker, as Lambda's SQS event source would.

Nothing in the app imports this module: it is the one place that imports `app` to run it."""

from __future__ import annotations

import argparse
import contextlib
import time

from chalicelib import config, logs
from chalicelib.errors import BackendUnavailable


def run_schedule(name: str) -> None:
    """Invoke a scheduled function now, with a scheduled-event payload."""
    from chalice.test import Client

    from app import app
    from chalicelib.queue import queue

    with Client(app, stage_name="local") as client:
        event = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
        response = client.lambda_.invoke(name, event)
    print(f"{name}: {response.payload}")
    drain = getattr(queue(), "drain", None)
    if drain is not None:  # the in-process queue: run what was enqueued before exiting
        print("tasks finished" if drain() else "tasks still running after 30 s")


def worker() -> None:
    """Long-poll QUEUE_URL forever, running each message with the task worker."""
    from chalicelib.queue.sqs import SqsQueue
    from chalicelib.tasks.worker import handle

    url = config.get("QUEUE_URL")
    if not url:
        raise SystemExit("make worker needs QUEUE_URL (without it, `make run` runs tasks inline)")
    budget_ms = config.get_int("WORKER_BUDGET_SECONDS") * 1000
    queue = SqsQueue(url)
    logs.info("worker polling", queue_url=url, budget_s=budget_ms // 1000)
    while True:
        try:
            queue.poll(handle, budget_ms)
        except BackendUnavailable as exc:
            logs.warning("queue unreachable; retrying", error=exc.detail)
            time.sleep(5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.local_triggers")
    sub = parser.add_subparsers(dest="command", required=True)
    schedule = sub.add_parser("run-schedule", help="run a scheduled function now")
    schedule.add_argument("name", help="daily_purge or daily_health_check")
    sub.add_parser("worker", help="run the task worker on QUEUE_URL's messages")
    args = parser.parse_args(argv)
    if args.command == "run-schedule":
        run_schedule(args.name)
    else:
        worker()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
