"""Pinned on purpose, to guard performance: the exact cache commands the gate sends (one
pipelined round trip for a key this process knows). A change here is a change of cost."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import FakeClock
from support.api import Api


class _Recorder:
    """The cache driver in use, writing down every command it is sent: its name and the
    kinds of key it names (tf:k key lookup, tf:af failed keys, tf:rl rate, ...)."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.sent: list[tuple[Any, ...]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.driver, name)

        def recorded(*args: Any) -> Any:
            keys = [args[0]] if isinstance(args[0], str) else list(args[0])  # or a dict
            kinds = " ".join(":".join(key.split(":")[:2]) for key in keys)
            self.sent.append((name, kinds, *args[1:2]) if name == "incr" else (name, kinds))
            return method(*args)

        return recorded


def test_a_known_key_costs_one_cache_round_trip(
    api: Api, monkeypatch: pytest.MonkeyPatch, limited: FakeClock
) -> None:
    """The gate's cache commands. A key new to this process: one read, the failed-key count
    before the database lookup and its refund after, the lookup cached (`add`, so a
    revocation stays), the request counted. Then: one pipelined read-and-count. A revoked
    key: refused from its cache mark, no SQL, and no longer counted against its tenant."""
    from chalicelib.cache import cache
    from chalicelib.db import database
    from chalicelib.tenants import apikeys

    errors, recorder = cache().errors, _Recorder(cache().driver)
    monkeypatch.setattr(cache(), "driver", recorder)
    assert api.get("/files").status == 200
    assert recorder.sent == [
        ("get_many", "tf:k tf:af"),
        ("incr", "tf:af", 1),
        ("incr", "tf:af", -1),
        ("add", "tf:k"),
        ("incr", "tf:rl", 1),
    ]
    recorder.sent.clear()
    trips = cache().round_trips
    assert api.get("/files").headers["RateLimit-Remaining"] == "3"
    assert recorder.sent == [("get_many_incr", "tf:k tf:af")]
    assert cache().round_trips - trips == 1

    assert apikeys.revoke_key(str(api.key))
    recorder.sent.clear()
    statements = database().statements
    assert [api.get("/files").status for _ in range(2)] == [401, 401]
    assert database().statements == statements
    assert recorder.sent == [
        ("get_many_incr", "tf:k tf:af"),
        ("incr", "tf:af", 1),
        ("get_many", "tf:k tf:af"),
        ("incr", "tf:af", 1),
    ]
    assert cache().errors == errors, "every command reached the cache"
