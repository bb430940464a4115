"""The daily health check against a local HTTP server standing in for the API and the
alert service, and end to end against the real app (chalice.test behind an HTTP bridge)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from chalicelib import secrets
from chalicelib.health import daily

Reply = tuple[int, bytes]
Route = Callable[[str, str, dict[str, str], bytes], Reply]


class Stand:
    """One HTTP server: records every request, answers with `route`."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.requests: list[dict[str, Any]] = []
        stand = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                stand.requests.append(
                    {"method": self.command, "path": self.path, "headers": headers, "body": body}
                )
                status, payload = stand.route(self.command, self.path, headers, body)
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_PUT = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Stand:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def fake_api(broken: str = "") -> Route:
    """The API's contract, with one step optionally broken."""
    files: dict[str, bytes] = {}

    def route(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if path == "/health":
            return (503, b'{"status":"unavailable"}') if broken == "health" else (200, b"{}")
        if headers.get("authorization") != "Bearer hc-key":
            return 401, b'{"Code":"Unauthorized"}'
        if method == "POST" and path.startswith("/files?name=healthcheck-"):
            files["f1"] = body
            return 201, json.dumps({"id": "f1"}).encode()
        if method == "GET" and path == "/files/f1":
            return (200, b"other") if broken == "read" else (200, files["f1"])
        if method == "DELETE" and path == "/files/f1":
            files.pop("f1", None)
            return 204, b""
        return 404, b"{}"

    return route


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("AWS_LAMBDA_FUNCTION_NAME", "HEALTHCHECK_API_KEY_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ALERT_API_KEY_SECRET_ARN", raising=False)
    monkeypatch.setenv("HEALTHCHECK_API_KEY", "hc-key")
    monkeypatch.setenv("ALERT_API_KEY", "alert-client-key")
    monkeypatch.setenv("STAGE", "test")
    secrets.store.cache_clear()
    yield monkeypatch
    secrets.store.cache_clear()


def _log_line(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    (line,) = [x for x in lines if x.get("message") == "health check"]
    return dict(line)


def test_a_healthy_api_logs_success_with_timings_and_no_alert(
    settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Stand(fake_api()) as api, Stand(lambda *a: (202, b"")) as alerts:
        settings.setenv("HEALTHCHECK_BASE_URL", api.url)
        settings.setenv("ALERT_URL", alerts.url + "/events")
        result = daily.run()
    assert result.ok and result.alert_sent is None
    assert [(r["method"], r["path"].split("?")[0]) for r in api.requests] == [
        ("GET", "/health"),
        ("POST", "/files"),
        ("GET", "/files/f1"),
        ("DELETE", "/files/f1"),
    ]
    assert api.requests[1]["headers"]["content-type"].startswith("text/plain")
    # Bodies are binary to API Gateway, which decodes a reply for a binary Accept only.
    assert {r["headers"].get("accept") for r in api.requests} == {"*/*"}
    assert not alerts.requests
    line = _log_line(capsys)
    assert line["ok"] is True and set(line["steps_ms"]) == {"health", "create", "read", "delete"}
    emf = line["_aws"]["CloudWatchMetrics"][0]
    assert emf["Namespace"] == "textfiles" and emf["Dimensions"] == [["Stage"]]
    assert line["HealthCheckSuccess"] == 1 and line["Stage"] == "test"
    assert "hc-key" not in json.dumps(line) and "alert-client-key" not in json.dumps(line)


@pytest.mark.parametrize("broken", ["health", "read"])
def test_a_failure_is_alerted_with_the_client_key_and_cleans_up(
    settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], broken: str
) -> None:
    with Stand(fake_api(broken)) as api, Stand(lambda *a: (202, b"")) as alerts:
        settings.setenv("HEALTHCHECK_BASE_URL", api.url)
        settings.setenv("ALERT_URL", alerts.url + "/events")
        result = daily.run()
    assert not result.ok and result.failed_step == broken and result.alert_sent is True
    (alert,) = alerts.requests
    assert alert["headers"]["x-api-key"] == "alert-client-key"
    body = json.loads(alert["body"])
    assert body["stage"] == "test" and body["detail"]["failed_step"] == broken
    if broken == "read":  # the file written is still deleted
        assert api.requests[-1]["method"] == "DELETE"
    line = _log_line(capsys)
    assert line["level"] == "error" and line["HealthCheckSuccess"] == 0


def test_an_unreachable_api_and_a_refusing_alert_service_are_reported(
    settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with Stand(lambda *a: (500, b"")) as alerts:
        settings.setenv("HEALTHCHECK_BASE_URL", "http://127.0.0.1:9")  # discard: refused
        settings.setenv("ALERT_URL", alerts.url)
        settings.setenv("HEALTHCHECK_TIMEOUT_SECONDS", "2")
        result = daily.run()
    assert not result.ok and result.failed_step == "health" and result.alert_sent is False
    assert _log_line(capsys)["alert_sent"] is False


def test_inside_lambda_the_urls_must_be_https(settings: pytest.MonkeyPatch) -> None:
    from chalicelib.config import MissingSetting

    settings.setenv("AWS_LAMBDA_FUNCTION_NAME", "textfiles-prod-daily_health_check")
    settings.setenv("HEALTHCHECK_BASE_URL", "http://api.example.com")
    settings.setenv("ALERT_URL", "https://alerts.example.com")
    with pytest.raises(MissingSetting, match="https"):
        daily.run()


def test_the_alert_key_comes_from_secrets_manager(
    settings: pytest.MonkeyPatch, moto: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from conftest import moto_client, reset_drivers
    from support.moto import AWS_ENV

    for name, value in {**AWS_ENV, "AWS_ENDPOINT_URL": moto.endpoint}.items():
        settings.setenv(name, value)
    reset_drivers()
    sm = moto_client("secretsmanager", moto.endpoint)
    arn = sm.create_secret(Name="textfiles/test/alert-api-key-hc", SecretString="from-sm")["ARN"]
    settings.setenv("ALERT_API_KEY_SECRET_ARN", arn)
    try:
        with Stand(fake_api("health")) as api, Stand(lambda *a: (202, b"")) as alerts:
            settings.setenv("HEALTHCHECK_BASE_URL", api.url)
            settings.setenv("ALERT_URL", alerts.url)
            assert daily.run().alert_sent is True
        assert alerts.requests[0]["headers"]["x-api-key"] == "from-sm"
    finally:
        reset_drivers()


def test_end_to_end_against_the_real_app(
    embedded_env: Path, settings: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real routes on the embedded drivers, through HTTP, and the schedule's handler."""
    from chalice.test import Client

    from app import app
    from chalicelib.tenants import apikeys

    settings.setenv("HEALTHCHECK_API_KEY", apikeys.create_key("healthcheck"))
    settings.delenv("ALERT_URL", raising=False)
    with Client(app) as client:

        def bridge(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
            reply = client.http.request(method, path, headers=headers, body=body)
            return reply.status_code, reply.body or b""

        with Stand(bridge) as api:
            settings.setenv("HEALTHCHECK_BASE_URL", api.url)
            event = client.events.generate_cw_event(
                source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
            )
            response = client.lambda_.invoke("daily_health_check", event)
    assert response.payload["ok"] is True, response.payload
    assert _log_line(capsys)["HealthCheckSuccess"] == 1
