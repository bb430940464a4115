"""The daily health check: the deployed API end to end, over HTTPS, as a client sees it.

`GET /health`, then a create-read-delete round trip with the health-check tenant's key.
One structured log line carries the result and its timings, with an Embedded Metric Format
block so CloudWatch turns it into metrics; a failure is also sent to the remote alert
service. Plain `urllib.request`: no chalice, no new dependency.

Run it once by hand: `python -m chalicelib.health.daily` (what `make healthcheck` does).
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlparse

from chalicelib import config, ids, logs, secrets

NAMESPACE = "textfiles"
ALERT_KEY_HEADER = "X-Api-Key"
USER_AGENT = "textfiles-healthcheck/1"


class CheckFailed(Exception):
    """One step of the round trip did not answer as expected."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


@dataclass
class Result:
    ok: bool = True
    failed_step: str = ""
    error: str = ""
    steps_ms: dict[str, float] = field(default_factory=dict)
    total_ms: float = 0.0
    alert_sent: bool | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "failed_step": self.failed_step or None,
            "error": self.error or None,
            "steps_ms": self.steps_ms,
            "total_ms": self.total_ms,
            "alert_sent": self.alert_sent,
        }


def request(
    method: str, url: str, body: bytes | None, headers: dict[str, str], timeout: float
) -> Reply:
    """One HTTP call; an HTTP error status is an answer, not an exception."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    req.add_header("User-Agent", USER_AGENT)
    # Bodies are binary to API Gateway, which decodes a reply for a binary Accept only.
    if "Accept" not in headers:
        req.add_header("Accept", "*/*")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return Reply(response.status, response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.read())


class Checker:
    def __init__(self, base_url: str, api_key: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = {"Authorization": f"Bearer {api_key}"}
        self.timeout = timeout
        self.result = Result()

    def call(self, step: str, method: str, path: str, expect: int, **kw: Any) -> Reply:
        started = time.perf_counter()
        try:
            reply = request(
                method, self.base_url + path, kw.get("body"), kw.get("headers", {}), self.timeout
            )
        except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
            raise CheckFailed(f"{step}: {type(exc).__name__}: {exc}") from exc
        finally:
            self.result.steps_ms[step] = _ms(started)
        if reply.status != expect:
            raise CheckFailed(f"{step}: HTTP {reply.status}, expected {expect}")
        return reply

    def round_trip(self) -> None:
        self.call("health", "GET", "/health", 200)
        name = f"healthcheck-{ids.new_id()}.txt"
        payload = f"textfiles health check {name}\n".encode()
        headers = {**self.auth, "Content-Type": "text/plain; charset=utf-8"}
        created = self.call(
            "create", "POST", f"/files?name={quote(name)}", 201, body=payload, headers=headers
        )
        path = f"/files/{quote(_file_id(created))}"
        try:
            read = self.call("read", "GET", path, 200, headers=self.auth)
            if read.body != payload:
                raise CheckFailed("read: the body differs from what was written")
        except CheckFailed:
            with contextlib.suppress(CheckFailed):  # clean up, but report the first fault
                self.call("delete", "DELETE", path, 204, headers=self.auth)
            raise
        self.call("delete", "DELETE", path, 204, headers=self.auth)


def _file_id(reply: Reply) -> str:
    try:
        return str(json.loads(reply.body)["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckFailed("create: the answer has no file id") from exc


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def check(base_url: str, api_key: str, timeout: float) -> Result:
    """Run the round trip; never raises for an API fault, reports it in the result."""
    started = time.perf_counter()
    checker = Checker(base_url, api_key, timeout)
    try:
        if not api_key:
            raise CheckFailed("config: no health-check API key")
        checker.round_trip()
    except CheckFailed as exc:
        checker.result.ok = False
        checker.result.error = str(exc)
        checker.result.failed_step = str(exc).split(":", 1)[0]
    checker.result.total_ms = _ms(started)
    return checker.result


def metric_block(result: Result, stage: str) -> dict[str, Any]:
    """The Embedded Metric Format fields that make a log line a CloudWatch metric."""
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Stage"]],
                    "Metrics": [
                        {"Name": "HealthCheckSuccess", "Unit": "Count"},
                        {"Name": "HealthCheckLatency", "Unit": "Milliseconds"},
                    ],
                }
            ],
        },
        "Stage": stage,
        "HealthCheckSuccess": 1 if result.ok else 0,
        "HealthCheckLatency": result.total_ms,
    }


def send_alert(url: str, api_key: str, result: Result, stage: str, timeout: float) -> bool:
    """POST the failure to the alert service, the client API key in its header."""
    body = json.dumps(
        {
            "source": "textfiles-healthcheck",
            "stage": stage,
            "severity": "critical",
            "summary": f"textfiles {stage} health check failed at {result.failed_step}",
            "detail": result.summary(),
        }
    ).encode()
    headers = {"Content-Type": "application/json", ALERT_KEY_HEADER: api_key}
    try:
        reply = request("POST", url, body, headers, timeout)
    except (OSError, ValueError) as exc:
        logs.error("alert not delivered", error=type(exc).__name__)
        return False
    if not 200 <= reply.status < 300:
        logs.error("alert refused", status=reply.status)
        return False
    return True


def _require_https(url: str, what: str) -> None:
    if config.in_lambda() and urlparse(url).scheme != "https":
        raise config.MissingSetting(f"{what} must be an https:// URL inside Lambda")


def run(fetch_secret: Callable[[secrets.Secret], str] = secrets.value) -> Result:
    """The scheduled use case: check, log one line with its metrics, alert on failure."""
    base_url, alert_url = config.healthcheck_base_url(), config.alert_url()
    _require_https(base_url, "HEALTHCHECK_BASE_URL")
    if alert_url:
        _require_https(alert_url, "ALERT_URL")
    timeout, stage = config.healthcheck_timeout_seconds(), config.stage()
    result = check(base_url, fetch_secret(secrets.HEALTHCHECK_API_KEY), timeout)
    if not result.ok:
        if alert_url:
            alert_key = fetch_secret(secrets.ALERT_API_KEY)
            result.alert_sent = send_alert(alert_url, alert_key, result, stage, timeout)
        else:
            result.alert_sent = False
    logs.log(
        "info" if result.ok else "error",
        "health check",
        **result.summary(),
        **metric_block(result, stage),
    )
    return result


def main() -> int:
    return 0 if run().ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
