"""The HTTP edge: keys from headers, domain errors to responses, one log line per request."""

from __future__ import annotations

import contextvars
import functools
import gc
import json
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, CaseInsensitiveMapping, Chalice, Request, Response

# The answers' building blocks, named here for the handlers too (http.json_response, ...).
from chalicelib.edge.responses import JSON as JSON
from chalicelib.edge.responses import PROBLEM as PROBLEM
from chalicelib.edge.responses import TEXT as TEXT
from chalicelib.edge.responses import content_type as content_type
from chalicelib.edge.responses import for_transport, wants_problem
from chalicelib.edge.responses import json_response as json_response
from chalicelib.edge.responses import redirect as redirect
from chalicelib.edge.responses import response as response

# What a file's body may be sent as: text, or bytes (the body is checked either way).
BODY_TYPES = ("text/plain", "application/octet-stream")

if TYPE_CHECKING:
    from chalicelib.edge.gate import Caller
    from chalicelib.files.reading import BodyAnswer

# The rest of chalicelib is imported inside the functions using it (docs/bench.md, target 1); on
# hot paths as `import chalicelib.x as x` (`from chalicelib import x` runs _handle_fromlist).


def current(app: Chalice | Blueprint) -> Request:
    request = app.current_request
    if request is None:
        raise RuntimeError("no request is being handled")
    return request


def body(request: Request) -> bytes:
    raw = request.raw_body or b""
    return raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)


def api_key(request: Request) -> str | None:
    header = str(request.headers.get("authorization", ""))
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    key = request.headers.get("x-api-key")
    return str(key) if key else None


_rate: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("rate_headers")
# Called with the admitted request and its tenant before the handler works (Idempotency-Key:
# chalicelib/edge/idempotent.py).
after_admit: contextvars.ContextVar[Callable[[Request, str], None] | None]
after_admit = contextvars.ContextVar("after_admit", default=None)


def reset_state() -> None:
    _rate.set({})


def source_ip(request: Request) -> str:
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def authenticate(request: Request, prefetch: Sequence[str] = ()) -> Caller:
    """The caller (chalicelib/edge/gate.py), within its rate limit: its RateLimit-* headers go on
    every response to this request."""
    import chalicelib.edge.gate as gate

    caller = gate.admit(api_key(request), source_ip(request), prefetch)
    _rate.set(caller.rate.headers())
    _check_ids(request.uri_params)
    if (hook := after_admit.get()) is not None:
        hook(request, caller.tenant.id)
    return caller


# The path parameters that name one of our ids, and what each names (for the 404's message).
_ID_PARAMS = {"file_id": "file", "upload_id": "upload", "task_id": "task"}


def _check_ids(params: dict[str, str] | None) -> None:
    """Every route's path ids, checked here once: a value that cannot be an id names nothing
    (a 404 for the admitted caller), and never reaches a cache key or the database."""
    import chalicelib.ids as ids

    for name, value in (params or {}).items():
        what = _ID_PARAMS.get(name)
        if what is not None:
            ids.require(value, what)


def query(request: Request, name: str) -> str | None:
    params: Any = request.query_params or {}
    value = params.get(name)
    return None if value is None else str(value)


def json_field(request: Request, name: str) -> str:
    """One string field of a JSON object body; anything else is a 400."""
    from chalicelib.errors import BadRequest

    try:
        data = json.loads(body(request))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # too deep: RecursionError
        raise BadRequest("The body is not valid JSON.") from exc
    if not isinstance(data, dict) or not isinstance(data.get(name), str):
        raise BadRequest(f'The body must be a JSON object with a string "{name}".')
    unknown = sorted(set(data) - {name})
    if unknown:
        raise BadRequest(f"Unknown fields: {', '.join(unknown)}.")
    return str(data[name])


def retry_after(healthy: bool) -> dict[str, str]:
    from chalicelib import config

    return {} if healthy else {"Retry-After": str(config.retry_after_seconds())}


def ranged_body(body: bytes, headers: dict[str, str]) -> Response:
    """A body we answer ourselves, whole or the range the request asks for
    (chalicelib/edge/ranges.py: 200, 206 or 416)."""
    import chalicelib.edge.ranges as ranges

    return ranges.body_response(current(_INSTALLED[0]), body, headers)


def body_answer(answer: BodyAnswer) -> Response:
    """A file's body (or a range of it), a 304, or a redirect to a link (where the link's
    store answers Range itself), with the body's validators."""
    import chalicelib.edge.ranges as ranges

    headers = ranges.file_validators(answer.meta)
    if answer.link is not None:
        return redirect(answer.link, headers)
    if answer.body is None:
        return response("", 304, headers)
    return ranged_body(answer.body, {"Content-Type": TEXT, **headers})


def honours(*headers: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Under `guarded`: the preconditions a write route honours (others: a 400)."""

    def mark(view: Callable[..., Response]) -> Callable[..., Response]:
        view.honours = frozenset(headers)  # type: ignore[attr-defined]
        return view

    return mark


def guarded(view: Callable[..., Response]) -> Callable[..., Response]:
    """Map the core's exceptions to their HTTP answers; anything else stays a 500 (a bug)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            request = _INSTALLED[0].current_request if _INSTALLED else None
            if request is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
                import chalicelib.files.rules as rules

                rules.refuse_unhonoured(request, getattr(view, "honours", frozenset()))
            return view(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - answer() re-raises what is not ours
            import chalicelib.edge.failures as failures

            return failures.answer(exc)

    return wrapper


class _JsonLines(logging.Handler):
    """Chalice's own log lines (an unhandled exception, i.e. a 500) as JSON lines too."""

    def emit(self, record: logging.LogRecord) -> None:
        from chalicelib import logs

        fields: dict[str, Any] = {"logger": record.name}
        if record.exc_info:
            fields["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        level = record.levelname.lower()
        logs.log(
            level if level in ("debug", "info", "warning") else "error",
            record.getMessage(),
            **fields,
        )


# Every media type is binary to API Gateway: request and response bodies travel base64, with a
# fixed 4/3 overhead (chalicelib/event_limits.py) and byte for byte, so invalid UTF-8
# reaches the check unaltered. `text/plain` alone would not do: API Gateway decodes a response
# only when the request's first Accept value is a binary type, and Chalice refuses (400) the others.
BINARY_TYPES = ["*/*"]


def _accept_anything_by_default(request: Request) -> None:
    """No Accept header means any media type (RFC 9110); Chalice would refuse a binary answer."""
    if "accept" not in request.headers:
        request.headers = CaseInsensitiveMapping({**dict(request.headers), "accept": "*/*"})


# Chalice's middleware kinds other than "http" (no extra layer on the HTTP path).
_OTHER_EVENTS = (
    "sqs", "scheduled", "pure_lambda", "s3", "sns", "cloudwatch", "kinesis", "dynamodb",
)  # fmt: skip


def _resume_collection() -> None:
    """Garbage collection back on, with everything the cold start built frozen out of it."""
    gc.freeze()
    gc.enable()


def _first_event(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """app.py pauses collection in Lambda; a first event that is not HTTP (a task may run
    for minutes) resumes it before it runs; access_log does so after an HTTP answer."""
    if not gc.isenabled():
        _resume_collection()
    return get_response(event)


def _new_id() -> str:
    from chalicelib import ids

    return ids.new_id()


def _finished(event: Request, response: Response, request_id: str) -> Response:
    """What every answer carries: the rate headers, the request id, CORS; 405 in our words."""
    if response.status_code in (405, 415) and isinstance(response.body, dict):  # Chalice's own
        import chalicelib.edge.failures as failures

        response = failures.in_our_words(event, response, _taken_types(event))
    for name, value in _rate.get().items():
        response.headers.setdefault(name, value)
    response.headers["X-Request-Id"] = request_id  # the id every log line of it carries
    response = for_transport(event.method, response)
    if "origin" in event.headers:
        import chalicelib.edge.cors as cors

        cors.add_headers(event, response)
    return response


# The app install() set up: its routes say what media types each takes (Chalice's own 415
# names only what was sent).
_INSTALLED: list[Chalice] = []


def _taken_types(event: Request) -> list[str]:
    path = (event.context or {}).get("resourcePath", "")
    entry = _INSTALLED[0].routes.get(path, {}).get(event.method) if _INSTALLED else None
    return list(entry.content_types) if entry is not None else []


def install(app: Chalice) -> None:
    """Bodies as bytes both ways; one JSON log line per request (id, tenant, route, status)."""
    app.api.binary_types = list(BINARY_TYPES)
    _INSTALLED[:] = [app]
    app.log.handlers[:] = [_JsonLines()]
    app.log.propagate = False

    for kind in _OTHER_EVENTS:
        app.register_middleware(_first_event, kind)

    @app.middleware("http")
    def access_log(event: Request, get_response: Callable[[Request], Response]) -> Response:
        import chalicelib.logs as logs

        started = time.perf_counter()
        _accept_anything_by_default(event)
        context = event.context or {}
        request_id = context.get("requestId") or _new_id()
        logs.reset(request_id=request_id, method=event.method, route=context.get("resourcePath"))
        _rate.set({})
        wants_problem(PROBLEM in event.headers.get("accept", ""))
        try:
            response = get_response(event)
        finally:
            if not gc.isenabled():
                _resume_collection()  # the first answer of a cold start is out
        response = _finished(event, response, request_id)
        logs.info(
            "request",
            status=response.status_code,
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return response
