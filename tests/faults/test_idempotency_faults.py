"""Idempotency keys under database faults, on real PostgreSQL behind the fault proxy of
tests/faults/test_integrity_db.py: a reply lost after the server ran the statement."""

from __future__ import annotations

from typing import Any

import pg8000.native
from test_integrity_db import backend, direct, pg_proxy  # noqa: F401 - the fixtures

from support.api import Api
from support.faults import PG_EXECUTE, FaultProxy

KEY = {"idempotency-key": "faulty-1"}
REPLAYED = "Idempotent-Replayed"


def files_named(direct: pg8000.native.Connection, name: str) -> int:  # noqa: F811
    rows = direct.run("SELECT COUNT(*) FROM files WHERE name = :n", n=name)
    return int(rows[0][0])


def test_a_create_whose_commit_reply_is_lost_is_settled_then_kept(
    api: Api,
    pg_proxy: FaultProxy,  # noqa: F811
    direct: pg8000.native.Connection,  # noqa: F811
) -> None:
    """The create's outcome is unknown, read back (committed): its 201 is kept for the key."""
    dropped = pg_proxy.drop_reply_after(b"COMMIT")
    first = api.create("settled.txt", "body", KEY)
    assert dropped.is_set()
    assert first.status == 201, first.body
    again = api.create("settled.txt", "body", KEY)
    assert (again.status, again.headers[REPLAYED]) == (201, "true")
    assert again.json == first.json
    assert files_named(direct, "settled.txt") == 1


def test_a_lost_reply_to_the_claim_is_503_and_the_claim_lapses(
    api: Api,
    pg_proxy: FaultProxy,  # noqa: F811
    direct: pg8000.native.Connection,  # noqa: F811
    clock: Any,
) -> None:
    """The claim ran but its reply was lost: nothing else ran (503). The same request is 409
    while the claim is leased, then runs, once."""
    dropped = pg_proxy.drop_reply_after(b"INSERT INTO idempotency_keys", then=PG_EXECUTE)
    lost = api.create("claimed.txt", "body", KEY)
    assert dropped.is_set()
    assert lost.status == 503, lost.body
    assert files_named(direct, "claimed.txt") == 0
    busy = api.create("claimed.txt", "body", KEY)
    assert busy.status == 409 and busy.json["Code"] == "IdempotencyKeyInUse"
    clock.advance(31)
    ran = api.create("claimed.txt", "body", KEY)
    assert ran.status == 201 and REPLAYED not in ran.headers
    assert files_named(direct, "claimed.txt") == 1
