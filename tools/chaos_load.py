"""The load and the check of `make chaos` (tools/chaos.py): writers that each own their files,
so that every file's last acknowledged write is known, and the read-back of every file."""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote

GONE = None  # the state of a deleted file
HOST = "127.0.0.1"
VERIFY_S = 60.0  # for reading every file back; an answer still missing then counts as lost


@dataclass
class File:
    """One file's history as its writer saw it: the last acknowledged state, and the states
    of later writes whose outcome is unknown (either may be what the server holds)."""

    id: str
    acked: bytes | None
    maybe: list[bytes | None] = field(default_factory=list)
    history: list[bytes] = field(default_factory=list)

    def ack(self, state: bytes | None) -> None:
        self.acked, self.maybe = state, []
        if state is not None:
            self.history.append(state)


@dataclass
class Tally:
    acked: int = 0
    ambiguous: int = 0
    refused: int = 0  # 4xx, nothing written
    server_errors: int = 0  # 5xx other than 503
    unavailable: int = 0  # 503
    no_retry_after: int = 0
    key_refused: int = 0  # 401 or 429 with a valid key (the rate limit is lifted): a bug
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


class Api:
    """A keep-alive HTTP client of the app for one thread."""

    def __init__(self, port: int, key: str, tally: Tally) -> None:
        self.port, self.key, self.tally = port, key, tally
        self.conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes] | None:
        """(status, body), or None when the outcome is unknown (no answer)."""
        headers = {"Authorization": f"Bearer {self.key}"}
        if body is not None:
            headers["Content-Type"] = "text/plain"
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            self.conn.request(method, path, body=body, headers=headers)
            reply = self.conn.getresponse()
            data = reply.read()
        except (OSError, http.client.HTTPException):
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return None
        if reply.status == 503:
            self.tally.add(unavailable=1, no_retry_after=int(not reply.getheader("Retry-After")))
        elif reply.status >= 500:
            self.tally.add(server_errors=1)
        elif reply.status in (401, 429):
            self.tally.add(key_refused=1)
        return reply.status, data


def write(api: Api, file: File, state: bytes | None, method: str, path: str) -> None:
    """One write of `file` towards `state`; record what the answer says happened."""
    answer = api.call(method, path, state)
    status = answer[0] if answer else None
    if status is not None and 200 <= status < 300:
        api.tally.add(acked=1)
        file.ack(state)
    elif status is None or status >= 500:
        api.tally.add(ambiguous=1)
        file.maybe.append(state)
    else:
        api.tally.add(refused=1)


def writer(api: Api, files: list[File], stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        live = [f for f in files if f.acked is not None]
        body = f"writer {seed} {uuid.uuid4().hex}\n".encode() * rng.randint(1, 40)
        roll = rng.random()
        if roll < 0.35 or not live:
            create(api, files, body)
        elif roll < 0.85:
            file = rng.choice(live)
            write(api, file, body, "PUT", f"/files/{file.id}")
        else:
            file = rng.choice(live)
            write(api, file, GONE, "DELETE", f"/files/{file.id}")


def create(api: Api, files: list[File], body: bytes) -> None:
    answer = api.call("POST", f"/files?name={quote(uuid.uuid4().hex)}.txt", body)
    if answer and answer[0] == 201:
        api.tally.add(acked=1)
        file = File(json.loads(answer[1])["id"], None)
        file.ack(body)
        files.append(file)
    elif answer is None or answer[0] >= 500:
        api.tally.add(ambiguous=1)  # an unknown id: nothing to check later
    else:
        api.tally.add(refused=1)


def verify(api: Api, files: list[File]) -> tuple[int, int, list[str]]:
    """Read every file back: (lost, stale, examples)."""
    lost = stale = 0
    examples: list[str] = []
    deadline = time.monotonic() + VERIFY_S
    for file in files:
        answer = api.call("GET", f"/files/{file.id}")
        while time.monotonic() < deadline and not (answer and answer[0] in (200, 404)):
            time.sleep(0.5)  # the check itself needs an answer: the service should be back
            answer = api.call("GET", f"/files/{file.id}")
        held = (answer[1] if answer[0] == 200 else GONE) if answer else b"?"
        if held == file.acked or held in file.maybe:
            continue
        if held is GONE or held not in file.history:
            lost += 1
            kind = "lost"
        else:
            stale += 1
            kind = "stale"
        status = answer[0] if answer else "nothing"
        examples.append(f"{kind}: {file.id} answered {status}; {in_database(file)}")
    return lost, stale, sorted(examples)


def in_database(file: File) -> str:
    """What PostgreSQL itself holds (read directly), to tell a stale cache from a stale row."""
    from chalicelib.db import database

    rows = database().query("SELECT sha256 FROM files WHERE id = :id", id=file.id)
    if not rows:
        return "no row in the database"
    held = rows[0]["sha256"]
    if file.acked is not None and held == hashlib.sha256(file.acked).hexdigest():
        return "the database holds the acknowledged body"
    return "the database holds another body"
