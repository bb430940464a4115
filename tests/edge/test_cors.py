"""Cross-origin calls (CORS): a browser app on a listed origin can call the API, any other
cannot read its answers; the preflight is answered on every path. In the chalice test client
and, as a browser does it, from a page on another origin in headless Chromium."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.api import Api
from support.local_site import running
from support.net import unavailable

APP_ORIGIN = "https://app.example.com"


@pytest.fixture
def listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", f"{APP_ORIGIN}, https://other.example.com")


def preflight(api: Api, path: str, origin: str, method: str) -> Any:
    headers = {"origin": origin, "access-control-request-method": method}
    return Api(api.client, None).call("OPTIONS", path, headers=headers)


def test_a_listed_origin_passes_the_preflight_and_reads_the_answer(api: Api, listed: None) -> None:
    meta = api.created("shared.txt", "hi")
    reply = preflight(api, f"/files/{meta['id']}", APP_ORIGIN, "PUT")
    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "PUT" in reply.headers["Access-Control-Allow-Methods"].split(", ")
    assert "If-Match" in reply.headers["Access-Control-Allow-Headers"]
    answer = api.get(f"/files/{meta['id']}", {"origin": APP_ORIGIN})
    assert answer.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "ETag" in answer.headers["Access-Control-Expose-Headers"]
    assert "Origin" in answer.headers["Vary"].split(", ")


def test_another_origin_is_refused_and_never_allowed(api: Api, listed: None) -> None:
    assert preflight(api, "/files", "https://evil.example.com", "POST").status == 403
    assert preflight(api, "/files", APP_ORIGIN, "PATCH").status == 403  # no such method there
    answer = api.get("/files", {"origin": "https://evil.example.com"})
    assert answer.status == 200
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_without_a_setting_no_origin_is_allowed(api: Api) -> None:
    assert preflight(api, "/files", APP_ORIGIN, "GET").status == 403
    assert "Access-Control-Allow-Origin" not in api.get("/files", {"origin": APP_ORIGIN}).headers


PAGE = """<!doctype html><meta charset="utf-8"><script>
window.result = fetch(API + "/files?name=from-elsewhere.txt", {method: "POST",
  headers: {"Authorization": "Bearer " + KEY, "Content-Type": "text/plain; charset=utf-8"},
  body: "hello"}).then(r => r.status + " " + r.headers.get("ETag")).catch(e => "refused " + e);
</script>"""


@pytest.fixture
def other_origin(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static site on another port of 127.0.0.1: another origin than the API's."""
    folder = tmp_path / "site"
    folder.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()


@pytest.mark.parametrize("allowed", [True, False])
def test_a_browser_on_another_origin_calls_the_api_only_when_listed(
    tmp_path: Path, other_origin: tuple[str, Path], allowed: bool
) -> None:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        unavailable("chromium", f"{chromium} is missing (make services installs it as root)")
    origin, folder = other_origin
    settings = {"CORS_ALLOWED_ORIGINS": origin if allowed else "https://somewhere.else"}
    with running(tmp_path / "data", settings, "cors") as (base, key):
        page_text = PAGE.replace("API", repr(base)).replace("KEY", repr(key))
        (folder / "index.html").write_text(page_text)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"{origin}/index.html")
            outcome = page.evaluate("window.result")
            browser.close()
    if allowed:
        assert outcome.startswith("201 ")
        assert outcome != "201 null"  # the exposed ETag is readable
    else:
        assert outcome.startswith("refused")
