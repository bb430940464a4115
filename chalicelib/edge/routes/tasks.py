"""Routes, the SQS worker and the daily purge of the task system (a Chalice Blueprint).

Deployed names (referenced by .chalice/config.json and the infra template): the worker
function `task_worker` on the queue `textfiles-tasks` (dead letters: `textfiles-tasks-dlq`),
the schedule function `daily_purge`.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, CloudWatchEvent, Rate, Response, SQSEvent

from chalicelib.edge import http, idempotent

# The use cases are imported inside each function: the API's cold start never loads the
# task machinery, and the worker never loads what only the routes use.

bp = Blueprint(__name__)


@bp.route("/exports", methods=["POST"])
@idempotent.keyed
@http.guarded
def start_export() -> Response:
    from chalicelib.tasks.kinds import export

    tenant = http.authenticate(http.current(bp)).tenant
    task = export.start(tenant.id, tenant.overrides)
    return http.json_response(task.public(), 202, {"Location": f"/tasks/{task.id}"})


@bp.route("/tasks/{task_id}", methods=["GET"])
@http.guarded
def get_task(task_id: str) -> Response:
    from chalicelib import tasks

    tenant = http.authenticate(http.current(bp)).tenant
    return http.json_response(tasks.get_for(tenant.id, task_id).public())


@bp.route("/tasks/{task_id}", methods=["DELETE"])
@http.guarded
def cancel_task(task_id: str) -> Response:
    from chalicelib import tasks

    tenant = http.authenticate(http.current(bp)).tenant
    task = tasks.cancel(tenant.id, task_id)
    return http.response("", 204) if task is None else http.json_response(task.public())


@bp.on_sqs_message(queue="textfiles-tasks", batch_size=1)
def task_worker(event: SQSEvent) -> None:
    """Raising leaves the message to SQS: back after its visibility timeout, then the DLQ."""
    from chalicelib import tasks

    for record in event:
        attributes: dict[str, Any] = record.to_dict().get("attributes") or {}
        delivery = tasks.Delivery(
            body=record.body,
            receipt=record.receipt_handle,
            receive_count=int(attributes.get("ApproximateReceiveCount") or 1),
        )
        tasks.handle_message(delivery, event.context)  # type: ignore[arg-type]


@bp.schedule(Rate(1, unit=Rate.DAYS))
def daily_purge(event: CloudWatchEvent) -> dict[str, Any]:
    """Enqueue the purge, and send whatever task messages are still unsent."""
    from chalicelib import logs, tasks
    from chalicelib.tasks.kinds import purge

    logs.reset(function="daily_purge")
    task = purge.start()
    sent = tasks.relay(limit=1000)
    return {"purge_task": task.id, "relayed": sent}
