"""Idempotency keys (docs/idempotency.md; the IETF httpapi draft "The Idempotency-Key HTTP
Header Field"): the first request with a key claims it before it does any work, and keeps its
answer; the same request again within 24 hours gets that answer back and does nothing.

A claim is one INSERT that conflicts on (tenant, key): of two requests with one key, exactly
one runs. Its answer is kept by one UPDATE after the work; an answer that says nothing final
(a 5xx, or a 4xx that says "try again") deletes the claim instead, so that a retry runs again.
A claim whose request died before it answered is held for LEASE_US, then a retry of the same
request takes it over.
"""

from __future__ import annotations

import hashlib
import json
from typing import NamedTuple

from chalicelib import clock, ids, logs, racepoints
from chalicelib.errors import BackendUnavailable, BadRequest, KeyInUse, KeyReused
from chalicelib.idempotency import store

KEEP_US = clock.DAY_US  # a key answers for 24 hours
# Longer than the API function may run (28 s): a claim still held after it is abandoned.
LEASE_US = 30_000_000
MAX_KEY = 255
# Answers that say the same request may succeed later: never kept, the retry runs again.
RETRY_LATER = frozenset({408, 409, 423, 425, 429})


class Claim(NamedTuple):
    """A key this request holds: it does the work, then keeps or drops the answer."""

    tenant_id: str
    key_hash: str
    token: str


class Answer(NamedTuple):
    """A kept answer: its status, the headers that matter, its (metadata JSON) body."""

    status: int
    headers: dict[str, str]
    body: str


def validate(raw: str) -> str:
    """The key: 1-255 visible ASCII characters (no space), bare or as the draft writes it, a
    structured-field string (its quotes are taken off: "abc" and abc are one key); else 400."""
    key = raw.strip()
    if len(key) >= 3 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not 1 <= len(key) <= MAX_KEY or not all("!" <= c <= "~" for c in key):
        raise BadRequest(
            f"Idempotency-Key must be 1-{MAX_KEY} visible ASCII characters, no spaces"
            " (a UUID is a good key)."
        )
    return key


def claim(tenant_id: str, key: str, fingerprint: str) -> Claim | Answer:
    """The key, claimed for this request; or the answer its first request kept. 409 while that
    one runs, 422 when the key was used for another request."""
    key_hash = hashlib.sha256(key.encode("ascii")).hexdigest()
    token, now = ids.new_id(), clock.now_us()
    fields = {"t": tenant_id, "k": key_hash, "fp": fingerprint, "token": token, "now": now}
    racepoints.point("idempotency.claiming")
    if store.claim(locked_until=now + LEASE_US, expires=now + KEEP_US, **fields):
        racepoints.point("idempotency.claimed")
        return Claim(tenant_id, key_hash, token)
    row = store.get(tenant_id, key_hash)
    if row is not None and row["fingerprint"] != fingerprint and row["expires_us"] > now:
        raise KeyReused("This Idempotency-Key was used for a different request.")
    if row is None or row["status"] is None:
        wait = 1 if row is None else max(1, -(-(int(row["locked_until"]) - now) // 1_000_000))
        raise KeyInUse("A request with this Idempotency-Key is still running.", wait)
    kept = json.loads(row["response"])
    return Answer(int(row["status"]), dict(kept["headers"]), str(kept["body"]))


def final(status: int) -> bool:
    """Whether an answer is kept: a success, or an error the same request would get again."""
    return status < 500 and status not in RETRY_LATER


def finish(held: Claim, answer: Answer | None) -> None:
    """Keep the answer (a final one) or let the key go (None: an answer that may not be kept).
    A failure is logged, never raised: the work is done and its answer goes out; the claim
    then lapses after LEASE_US."""
    racepoints.point("idempotency.settling")
    try:
        if answer is not None and final(answer.status):
            kept = json.dumps({"headers": answer.headers, "body": answer.body})
            store.finish(*held, status=answer.status, response=kept)
        else:
            store.release(*held)
    except BackendUnavailable as exc:
        logs.warning("idempotency key not settled", error=exc.detail)


def release(held: Claim) -> None:
    """Let the key go after a failure without an answer of ours (a bug): a retry runs again."""
    try:
        store.release(*held)
    except BackendUnavailable as exc:
        logs.warning("idempotency key not released", error=exc.detail)


def purge(limit: int) -> int:
    """The daily purge: up to `limit` keys past their 24 hours."""
    return store.remove_expired(clock.now_us(), limit)
