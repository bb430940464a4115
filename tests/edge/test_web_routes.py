"""The routes of the web page, the API reference and GET /usage, without a browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import app
from conftest import LOCAL_STAGE
from support.local_site import ROOT


def test_pages_are_served_with_a_strict_policy(embedded_env: Path) -> None:
    with Client(app, stage_name=LOCAL_STAGE) as client:
        for path in ("/", "/docs"):
            reply = client.http.get(path)
            assert reply.status_code == 200
            assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
            policy = reply.headers["Content-Security-Policy"]
            assert "script-src 'self';" in policy and "style-src 'self';" in policy
            assert "unsafe-inline" not in policy and "default-src 'none'" in policy
            assert reply.headers["X-Content-Type-Options"] == "nosniff"
            assert "<script>" not in reply.body.decode() and " style=" not in reply.body.decode()
        for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
            reply = client.http.get(f"/static/{name}")
            assert reply.headers["Content-Type"].startswith(kind), name
            assert reply.headers["X-Content-Type-Options"] == "nosniff"
        for name in ("nope.js", "..%2fapp.py", "index.html"):
            assert client.http.get(f"/static/{name}").status_code == 404


def test_requests_may_go_only_to_the_api_and_the_blob_links(
    embedded_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.edge import page

    monkeypatch.setenv("PUBLIC_BASE_URL", "http://files.example:8000/base")
    assert page.connect_sources() == ["'self'", "http://files.example:8000"]
    monkeypatch.setenv("FILES_BUCKET", "bucket")
    assert page.connect_sources() == ["'self'", "https://*.amazonaws.com"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    assert "connect-src 'self' http://127.0.0.1:5000;" in page.policy()


def test_page_assets_are_small_and_never_render_data_as_html() -> None:
    static = ROOT / "chalicelib" / "edge" / "static"
    assert sum(p.stat().st_size for p in static.iterdir()) < 48 * 1024
    for script in static.glob("*.js"):
        text = script.read_text()
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", text)
        assert "localStorage" not in text  # the key is kept for the tab only


def test_every_operation_carries_examples(embedded_env: Path) -> None:
    from chalicelib.edge.openapi import render

    doc = render.document()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            bodies = [r for r in op["responses"].values() if "content" in r]
            bodies += [op["requestBody"]] if "requestBody" in op else []
            examples = [
                m["example"] for b in bodies for m in b["content"].values() if "example" in m
            ]
            assert examples, (method, path)
            for status, response in op["responses"].items():
                for media in response.get("content", {}).values():
                    if status >= "400" and "example" in media and "Code" in media["example"]:
                        assert media["example"]["Code"] != "NotFound" or status == "404"


def test_usage_counts_files_bytes_tasks_and_requests(
    api: Any, monkeypatch: pytest.MonkeyPatch, clock: Any
) -> None:
    """The clock stands still, so the four counted requests share one rate-limit window."""
    from chalicelib.tenants import apikeys

    monkeypatch.setenv("RATE_LIMIT_PER_WINDOW", "50")
    first = api.call("GET", "/usage")
    assert first.status == 200
    assert first.json["files"] == {"used": 0, "limit": 10000}
    api.created("a.txt", "12345")
    api.created("b.txt", "678")
    tenant = apikeys.lookup(apikeys.hash_key(str(api.key)))
    assert tenant is not None
    apikeys.set_limits(tenant.id, max_files=7, max_running_tasks=3)
    reply = api.call("GET", "/usage")
    usage = reply.json
    assert usage["files"] == {"used": 2, "limit": 7}
    split = {"current": 8, "history": 0, "trash": 0}  # docs/history.md
    assert usage["bytes"] == {"used": 8, "limit": 1024**3, **split}
    assert usage["running_tasks"] == {"used": 0, "limit": 3}
    rate = usage["rate"]
    assert (rate["limit"], rate["used"], rate["remaining"]) == (50, 4, 46)
    assert rate["remaining"] == int(reply.headers["RateLimit-Remaining"])
    assert api.call("GET", "/usage", headers={"authorization": "Bearer tf_nope"}).status == 401
