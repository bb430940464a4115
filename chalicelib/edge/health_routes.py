"""Operations: the daily health check of the deployed API (its own Lambda function)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Cron

ops = Blueprint(__name__)


@ops.schedule(Cron(15, 6, "*", "*", "?", "*"), name="daily_health_check")
def daily_health_check(event: Any) -> dict[str, Any]:
    """Every day at 06:15 UTC; a failure is logged and alerted, never raised (no retries)."""
    from chalicelib.health import daily

    return daily.run().summary()
