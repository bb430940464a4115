"""Spend guards: rate limits (shared through memcached), failed-key limits, quotas."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from conftest import FakeClock
from support.api import Api
from support.chalice_local import ChaliceLocal
from support.memcached import MemcachedServer
from support.net import ServerUnavailable, unavailable
from support.outage import DatabaseOutage

ROOT = Path(__file__).resolve().parents[2]


def test_burst_past_the_limit_gets_429_until_the_window_resets(
    api: Api, limited: FakeClock
) -> None:
    replies = [api.get("/files") for _ in range(8)]
    assert [r.status for r in replies] == [200] * 5 + [429] * 3
    assert [r.headers["RateLimit-Remaining"] for r in replies[:5]] == ["4", "3", "2", "1", "0"]
    for reply in replies:
        assert reply.headers["RateLimit-Limit"] == "5"
        assert reply.headers["RateLimit-Reset"] == "45"
    refused = replies[-1]
    assert refused.headers["Retry-After"] == "45"
    assert refused.json["Code"] == "TooManyRequests"
    limited.advance(44)
    assert api.get("/files").status == 429
    limited.advance(1)
    reply = api.get("/files")
    assert reply.status == 200
    assert reply.headers["RateLimit-Remaining"] == "4"
    assert reply.headers["RateLimit-Reset"] == "60"


def test_every_authenticated_response_carries_the_headers(api: Api, limited: FakeClock) -> None:
    for reply in (api.get("/files/nope"), api.create("a/b", "x"), api.created_reply("ok.txt")):
        assert reply.headers["RateLimit-Limit"] == "5", reply.status


def test_tenants_have_separate_limits_and_overrides(
    api: Api, other_api: Api, limited: FakeClock
) -> None:
    from chalicelib.tenants import apikeys

    for _ in range(5):
        assert api.get("/files").status == 200
    assert api.get("/files").status == 429
    assert other_api.get("/files").status == 200
    tenant = apikeys.lookup(apikeys.hash_key(str(other_api.key)))
    assert tenant is not None
    apikeys.set_limits(tenant.id, rate_limit=2)
    replies = [other_api.get("/files") for _ in range(2)]
    assert [r.status for r in replies] == [200, 429]
    assert replies[-1].headers["RateLimit-Limit"] == "2"


def test_failed_keys_are_limited_per_address(
    api: Api, monkeypatch: pytest.MonkeyPatch, limited: FakeClock
) -> None:
    monkeypatch.setenv("AUTH_FAILURES_PER_WINDOW", "3")
    guesser = Api(api.client, "tf_guess")
    assert [guesser.get("/files").status for _ in range(4)] == [401, 401, 401, 429]
    blocked = api.get("/files")
    assert blocked.status == 429, "blocked for any key it has not used lately"
    assert blocked.headers["Retry-After"] == "45"
    limited.advance(45)
    assert api.get("/files").status == 200


def test_a_database_outage_is_a_503_never_a_failed_key(
    database_outage: DatabaseOutage,
    client: Any,
    new_key: Any,
    monkeypatch: pytest.MonkeyPatch,
    limited: FakeClock,
) -> None:
    """Issue #22, 1: a lookup the database could not answer stayed counted as a failed key, so
    after a blip every client at the address got 429 with a valid key until the window ended."""
    monkeypatch.setenv("AUTH_FAILURES_PER_WINDOW", "3")
    callers = [Api(client, new_key(None)) for _ in range(5)]  # keys no cache holds yet
    database_outage.cut()
    down = [caller.get("/files") for caller in callers]
    assert [reply.status for reply in down] == [503] * 5
    assert all(int(reply.headers["Retry-After"]) > 0 for reply in down)
    database_outage.restore()
    assert [caller.get("/files").status for caller in callers] == [200] * 5


def test_a_valid_key_is_not_refused_for_failed_keys_at_its_address(
    api: Api, other_api: Api, monkeypatch: pytest.MonkeyPatch, limited: FakeClock
) -> None:
    """Issue #22, 1: a blocked address refused every key, a valid one too (NAT, shared egress).
    A key that authenticated lately still works; a key nobody used lately cannot be told from a
    guess, so it waits like one (guessing stays bounded)."""
    monkeypatch.setenv("AUTH_FAILURES_PER_WINDOW", "3")
    assert api.get("/files").status == 200
    guesser = Api(api.client, "tf_guess")
    assert [guesser.get("/files").status for _ in range(4)] == [401, 401, 401, 429]
    assert api.get("/files").status == 200, "its cached lookup"
    limited.advance(3)  # past KEY_CACHE_SECONDS: the key is looked up in the database again
    assert api.get("/files").status == 200, "a key that authenticated lately"
    assert guesser.get("/files").status == 429
    assert other_api.get("/files").status == 429


def test_file_quota_edges(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTA_MAX_FILES", "3")
    metas = [api.created(f"f{i}") for i in range(3)]
    refused = api.create("f3")
    assert refused.status == 403
    assert refused.json == {
        "Code": "QuotaExceeded",
        "Message": "Quota exceeded: files (3 of 3 used).",
        "quota": "files",
        "used": 3,
        "limit": 3,
    }
    assert len(api.get("/files").json["items"]) == 3
    assert api.delete(metas[0]["id"]).status == 204
    assert api.create("f3").status == 201


def test_byte_quota_edges(api: Api, other_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTA_MAX_BYTES", "10")
    a = api.created("a", "123456")
    b = api.created("b", "1234")
    refused = api.create("c", "1")
    assert refused.status == 403
    assert refused.json["quota"] == "bytes"
    assert refused.json["used"] == 10
    # A replace keeps the old body as history (docs/history.md): the new body needs room.
    assert api.put(a["id"], "1").status == 403
    assert api.get(f"/files/{a['id']}").text == "123456"
    assert api.delete(b["id"]).status == 204
    assert api.create("c", "1").status == 403  # the trash counts too
    assert api.call("DELETE", f"/trash/{b['id']}").status == 204
    assert api.put(a["id"], "1234").status == 200
    assert api.create("c", "1").status == 403
    assert other_api.create("c", "1234567890").status == 201


def test_quota_override_per_tenant(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.tenants import apikeys

    monkeypatch.setenv("QUOTA_MAX_FILES", "1")
    api.created("one")
    assert api.create("two").status == 403
    tenant = apikeys.lookup(apikeys.hash_key(str(api.key)))
    assert tenant is not None
    apikeys.set_limits(tenant.id, max_files=2)
    assert api.create("two").status == 201
    assert api.create("three").status == 403


# --- with memcached -----------------------------------------------------------


def test_cache_down_counts_per_process_with_a_warning(
    own_memcached: MemcachedServer, api: Api, limited: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """The limit never switches off: without the shared counter each process counts alone."""
    from chalicelib import logs

    assert [api.get("/files").status for _ in range(5)] == [200] * 5
    assert api.get("/files").status == 429
    own_memcached.kill()
    logs._last_warning.clear()
    replies = [api.get("/files") for _ in range(8)]
    assert [r.status for r in replies] == [200] * 5 + [429] * 3
    assert replies[-1].headers["Retry-After"] == "45"
    out = capsys.readouterr().out
    warnings = [json.loads(x) for x in out.splitlines() if '"warning"' in x]
    assert any(
        w["message"] == "spend guards counted per process: cache unavailable" for w in warnings
    )


def _status(url: str, key: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("backend", ["real"], indirect=True)
def test_two_processes_share_one_limit(
    backend: str, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two API processes on one memcached: atomic increments make one limit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_LAMBDA")}
    env.update(RATE_LIMIT_PER_WINDOW="12", RATE_LIMIT_WINDOW_SECONDS="3600")
    # A busy machine must not turn a slow first round trip into a bypass (per-process counts).
    env.update(MEMCACHED_TIMEOUT_SECONDS="5")
    servers = [ChaliceLocal(env), ChaliceLocal(env)]
    try:
        for server in servers:
            server.start()
        urls = [f"{server.base}/files" for server in servers] * 15
        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses: list[Any] = list(pool.map(lambda url: _status(url, str(api.key)), urls))
    except ServerUnavailable as exc:
        unavailable("chalice local", str(exc))
    finally:
        for server in servers:
            print(server.log_tail(3000))
            server.stop()
    assert statuses.count(200) == 12
    assert statuses.count(429) == 18


def test_running_tasks_quota(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import tasks
    from chalicelib.tenants import apikeys

    monkeypatch.setenv("QUOTA_MAX_RUNNING_TASKS", "0")
    refused = api.call("POST", "/exports")
    assert refused.status == 403
    assert refused.json["quota"] == "tasks"
    assert refused.json["limit"] == 0
    tenant = apikeys.lookup(apikeys.hash_key(str(api.key)))
    assert tenant is not None
    assert tasks.active("export", tenant.id) == []
    apikeys.set_limits(tenant.id, max_running_tasks=1)
    accepted = api.call("POST", "/exports")
    assert accepted.status == 202
    assert accepted.json["kind"] == "export"
