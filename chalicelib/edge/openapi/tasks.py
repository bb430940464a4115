"""The background tasks' routes (chalicelib/edge/routes/tasks.py, docs/tasks.md), joined to
the table (table.py)."""

from __future__ import annotations

from chalicelib.edge.openapi.entries import Param, Reply, Route
from chalicelib.errors import Conflict, NotFound, QuotaExceeded

TASK_ID = Param("task_id", "path", description="The task's id.")

TASK_ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/exports",
        "startExport",
        "Bundle every file of the tenant into one zip archive, in the background."
        " While an export is under way, the same task is returned.",
        {"202": Reply("Accepted: poll the task.", "Task", headers=("Location",))},
        errors=(QuotaExceeded,),
    ),
    Route(
        "GET",
        "/tasks/{task_id}",
        "getTask",
        "A task's state, progress and result.",
        {"200": Reply("The task.", "Task")},
        errors=(NotFound,),
        params=(TASK_ID,),
    ),
    Route(
        "DELETE",
        "/tasks/{task_id}",
        "cancelTask",
        "Cancel a running task (its worker stops after the current step), or delete a"
        " succeeded export with its archive now.",
        {
            "200": Reply("Cancelled (or already cancelled).", "Task"),
            "204": Reply("The succeeded task and its archive are deleted."),
        },
        errors=(NotFound, Conflict),
        params=(TASK_ID,),
    ),
)
