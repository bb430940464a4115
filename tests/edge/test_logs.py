"""One JSON line per request; never a key, a secret or a file body."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from support.api import Api

ROOT = Path(__file__).resolve().parents[2]


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_one_json_line_per_request_without_secrets(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    body = "top secret body 7f3a"
    capsys.readouterr()
    meta = api.created("log.txt", body)
    api.get(f"/files/{meta['id']}")
    api.get("/files/unknown")
    out = capsys.readouterr().out
    assert body not in out
    assert str(api.key) not in out
    lines = _lines(out)
    assert [line["status"] for line in lines] == [201, 200, 404]
    for line in lines:
        assert line["level"] == "info"
        assert line["message"] == "request"
        assert {"request_id", "tenant", "method", "route", "status", "latency_ms"} <= set(line)
        assert isinstance(line["latency_ms"], float)
    assert lines[0]["method"] == "POST"
    assert lines[0]["route"] == "/files"
    assert lines[1]["route"] == "/files/{file_id}"
    assert len({line["request_id"] for line in lines}) == 3
    assert lines[0]["tenant"].startswith("t-")


def test_refused_requests_are_logged_without_tenant_or_key(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    Api(api.client, "tf_guessed-key").get("/files")
    out = capsys.readouterr().out
    assert "tf_guessed-key" not in out
    (line,) = _lines(out)
    assert line["status"] == 401
    assert "tenant" not in line


def test_make_key_prints_the_key_last_and_stores_only_its_hash(tmp_path: Path) -> None:
    import sqlite3

    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "chalicelib.edge.admin", "key", "acme"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("tf_") and len(key) > 40
    conn = sqlite3.connect(tmp_path / "textfiles.sqlite3")
    stored = conn.execute("SELECT key_hash, tenant_id FROM api_keys").fetchall()
    assert len(stored) == 1
    assert stored[0][1] == "acme"
    assert key not in stored[0][0]
    bad = subprocess.run(
        [sys.executable, "-m", "chalicelib.edge.admin", "key", "Not Valid"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "tenant id" in bad.stderr


def test_a_bug_is_a_500_logged_as_json(
    api: Api, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.files import listing

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(listing, "list_files", broken)
    capsys.readouterr()
    reply = api.get("/files")
    assert reply.status == 500
    assert reply.json == {
        "Code": "InternalServerError",
        "Message": "An internal server error occurred.",
    }
    lines = _lines(capsys.readouterr().out)
    error = next(line for line in lines if line["level"] == "error")
    assert "RuntimeError: a bug" in error["traceback"]
    assert error["route"] == "/files"
    assert str(api.key) not in json.dumps(lines)
    assert lines[-1]["status"] == 500


def test_every_answer_carries_the_request_id_its_log_line_carries(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    meta = api.created("quoted.txt", "x")
    replies = [
        api.get(f"/files/{meta['id']}"),
        api.get(f"/files/{meta['id']}", {"if-none-match": meta["etag"]}),
        api.get("/files/" + "0" * 32),
        Api(api.client, None).get("/files"),
        api.delete(meta["id"]),
    ]
    assert [r.status for r in replies] == [200, 304, 404, 401, 204]
    logged = [line["request_id"] for line in _lines(capsys.readouterr().out)][1:]
    sent = [r.headers.get("X-Request-Id") for r in replies]
    assert sent == logged
    assert len(set(sent)) == len(sent)


def test_problem_details_when_the_client_asks_for_them(api: Api) -> None:
    plain = api.get("/files/" + "0" * 32)
    assert plain.headers["Content-Type"] == "application/json"
    assert set(plain.json) == {"Code", "Message"}
    asked = api.get("/files/" + "0" * 32, {"accept": "application/problem+json"})
    assert asked.status == 404
    assert asked.headers["Content-Type"] == "application/problem+json"
    assert asked.json == {
        "type": "about:blank",
        "title": "NotFound",
        "status": 404,
        "detail": plain.json["Message"],
        "Code": "NotFound",
        "Message": plain.json["Message"],
    }


def test_a_method_the_path_lacks_is_a_405_in_our_shape_with_allow(api: Api) -> None:
    reply = api.call("PUT", "/usage")
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, OPTIONS"
    assert reply.json == {
        "Code": "MethodNotAllowed",
        "Message": "PUT is not allowed on /usage: use GET.",
    }


def test_a_body_of_the_wrong_type_is_a_415_that_says_what_to_send(api: Api) -> None:
    form = api.call(
        "POST", "/files?name=a.txt", "x=1", {"content-type": "application/x-www-form-urlencoded"}
    )
    assert form.status == 415
    assert form.json["Code"] == "UnsupportedMediaType"
    assert "text/plain" in form.json["Message"]
    assert "application/x-www-form-urlencoded" in form.json["Message"]
    untyped = api.call("PATCH", "/files/" + "0" * 32, "{}", {"content-type": "text/csv"})
    assert untyped.status == 415
    assert untyped.json["Message"].startswith("This route takes a application/json body")


def test_bytes_sent_as_octet_stream_are_a_file_like_text(api: Api) -> None:
    octets = {"content-type": "application/octet-stream"}
    created = api.call("POST", "/files?name=bin.txt", "café\n".encode(), octets)
    assert created.status == 201
    replaced = api.call("PUT", f"/files/{created.json['id']}", b"two\n", octets)
    assert replaced.status == 200
    assert api.get(f"/files/{created.json['id']}").body == b"two\n"
    refused = api.call("POST", "/files?name=nul.txt", b"a\x00b", octets)
    assert refused.status == 415  # still plaintext only
