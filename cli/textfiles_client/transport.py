"""HTTP for the client: one request, its failure as an ApiError, and bounded retries that
never repeat a write which may already have happened.

A request is tried again (at most RETRIES times, never waiting more than MAX_WAIT at once):
- whatever its method, on a 429: the rate limit refuses before any work is done;
- when it may have run, only if repeating it is harmless: GET, HEAD, PUT and DELETE, on a
  503/502/504 or a connection lost or timed out; and a POST that carries an Idempotency-Key
  (`replays_keys`: the server answers a repeated key with the first answer and does nothing
  again, docs/idempotency.md). Any other POST's error says the outcome is unknown.
A 409 IdempotencyKeyInUse (an earlier try with the same key still runs) is waited for too.
A refused connection is not retried (no server listens there; waiting seldom changes that),
and a body already streamed into a sink is never started again.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import IO, Any, Protocol

TEXT = "text/plain; charset=utf-8"
ProgressFn = Callable[[int, int], None]
WaitFn = Callable[[float, str], None]


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


REPLAYABLE = frozenset({"GET", "HEAD", "PUT", "DELETE"})
RETRIES = 3
MAX_WAIT = 30.0
BACKOFF = 0.5
_MAYBE_RAN = frozenset({502, 503, 504})


class ApiError(Exception):
    """An answer of the API that is not a success: its status, Code and Message (status 0:
    no answer). `retried`: it came after a retry; `retry_after`: the server's hint, seconds."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.body = status, code, message, body
        self.retry_after = retry_after
        self.retried = False
        self.sent = True  # False: the request never reached the server


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects (a large body answers with a presigned link), never taking the key
    to another host."""

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != req.host:
            for name in ("Authorization", "X-api-key"):
                new.remove_header(name)
        return new


class _Reader:
    """A body that reports how much of it was sent."""

    def __init__(self, data: bytes, progress: ProgressFn | None) -> None:
        self.data, self.sent, self.progress = data, 0, progress

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.sent + size
        chunk = self.data[self.sent : end]
        self.sent += len(chunk)
        if self.progress:
            self.progress(self.sent, len(self.data))
        return chunk


def retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error(status: int, raw: bytes, headers: Any) -> ApiError:
    wait = retry_after(headers.get("Retry-After") if headers else None)
    try:
        body = json.loads(raw)
        return ApiError(status, str(body.get("Code")), str(body.get("Message")), body, wait)
    except (ValueError, AttributeError):
        text = raw.decode("utf-8", "replace").strip()[:500]
        return ApiError(status, "HttpError", text or f"HTTP {status}", None, wait)


def _unreachable(url: str, exc: Exception, replayable: bool) -> ApiError:
    reason = getattr(exc, "reason", exc)
    refused = isinstance(reason, ConnectionRefusedError)
    message = f"Cannot reach {url}: {reason}"
    if not refused and not replayable:
        message += " (the request may or may not have taken effect)"
    error = ApiError(0, "ConnectionError", message)
    error.sent = not refused
    return error


class Transport:
    """Requests to `base_url` with an API key; `on_wait(seconds, why)` hears of each retry."""

    def __init__(self, base_url: str, key: str | None = None, timeout: float = 60) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.timeout = timeout
        self.retries = RETRIES
        self.replays_keys = True  # the server replays a repeated Idempotency-Key's answer
        self.on_wait: WaitFn | None = None
        self._opener = urllib.request.build_opener(_Redirects())

    def url(self, path: str, **query: Any) -> str:
        params = {k: str(v) for k, v in query.items() if v is not None}
        tail = "?" + urllib.parse.urlencode(params) if params else ""
        return path if path.startswith("http") else f"{self.base_url}{path}{tail}"

    def send(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        progress: ProgressFn | None = None,
        auth: bool = True,
        sink: IO[bytes] | None = None,
        retries: int | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request, retried where that is safe (at most `retries` times, default
        `self.retries`); its status, headers and body (or the body written to `sink`)."""
        all_headers = dict(headers or {})
        if auth and self.key:
            all_headers["Authorization"] = f"Bearer {self.key}"
        replayable = method in REPLAYABLE or (
            self.replays_keys and "Idempotency-Key" in all_headers
        )
        limit = self.retries if retries is None else retries
        attempt = 0
        while True:
            counted = _Counting(sink) if sink is not None else None
            try:
                return self._once(method, url, body, all_headers, progress, counted)
            except _SinkFailed as exc:
                raise exc.error from None
            except ApiError as exc:
                exc.retried = attempt > 0
                started = counted is not None and counted.written > 0
                give_up = started or attempt >= limit
                delay = None if give_up else self._delay(exc, attempt, replayable)
                if delay is None:
                    raise
                self._wait(delay, exc.message)
            attempt += 1

    def _once(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        progress: ProgressFn | None,
        sink: Sink | None,
    ) -> tuple[int, dict[str, str], bytes]:
        data: Any = None
        if body is not None:
            data = _Reader(body, progress)
            headers = {**headers, "Content-Length": str(len(body))}
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.status, dict(response.headers), _read(response, sink, progress)
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return 304, dict(exc.headers), b""
            raise _error(exc.code, exc.read(), exc.headers) from None
        except (urllib.error.URLError, OSError) as exc:
            # A keyed POST is retried here, but not by running the command again (a new key)
            raise _unreachable(url, exc, method in REPLAYABLE) from None

    def _delay(self, exc: ApiError, attempt: int, replayable: bool) -> float | None:
        """Seconds to wait before trying again, or None: do not."""
        may_have_run = exc.status in _MAYBE_RAN or (exc.status == 0 and exc.sent)
        # An earlier try with this Idempotency-Key still runs: its answer comes later.
        running = exc.status == 409 and exc.code == "IdempotencyKeyInUse"
        if not (exc.status == 429 or running or (replayable and may_have_run)):
            return None
        if exc.retry_after is not None:
            return exc.retry_after if exc.retry_after <= MAX_WAIT else None
        return BACKOFF * 2.0**attempt * random.uniform(1.0, 1.5)

    def _wait(self, seconds: float, why: str) -> None:
        if self.on_wait is not None and seconds >= 1:
            self.on_wait(seconds, why)
        time.sleep(seconds)


class _SinkFailed(Exception):
    """Writing into the sink failed (a full disk, a reader gone): the caller's own error, not
    the network's, so it leaves as the OSError it was."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Counting:
    """A sink that counts what was written to it: a body half-written is never restarted."""

    def __init__(self, sink: IO[bytes]) -> None:
        self.sink, self.written = sink, 0

    def write(self, data: bytes) -> int:
        self.written += len(data)
        try:
            return self.sink.write(data)
        except OSError as exc:
            raise _SinkFailed(exc) from exc


def _read(response: Any, sink: Sink | None, progress: ProgressFn | None) -> bytes:
    total = int(response.headers.get("Content-Length") or 0)
    chunks: list[bytes] = []
    done = 0
    while chunk := response.read(65536):
        done += len(chunk)
        if sink is not None:
            sink.write(chunk)
        else:
            chunks.append(chunk)
        if progress:
            progress(done, max(total, done))
    return b"".join(chunks)
