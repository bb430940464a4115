"""Health: GET /health, the deep check of every backend, and the daily end-to-end check of the
deployed API (its own Lambda function)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Cron, Response

from chalicelib.edge import http

ops = Blueprint(__name__)


@ops.schedule(Cron(15, 6, "*", "*", "?", "*"), name="daily_health_check")
def daily_health_check(event: Any) -> dict[str, Any]:
    """Every day at 06:15 UTC; a failure is logged and alerted, never raised (no retries)."""
    from chalicelib.health import daily

    return daily.run().summary()


@ops.route("/health", methods=["GET"])
@http.guarded
def health_check() -> Response:
    from chalicelib.health import backends

    healthy, report = backends.check(http.source_ip(http.current(ops)))
    return http.json_response(report, 200 if healthy else 503, http.retry_after(healthy))
