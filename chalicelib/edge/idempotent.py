"""Idempotency-Key on the routes that create or start something (docs/idempotency.md): one
line per route, `@idempotent.keyed` between `@app.route` and `@http.guarded`
(`@idempotent.keyed_link` for a route that answers an upload's presigned link).

The key is claimed right after the caller is admitted (chalicelib/edge/http.py calls back),
before the handler does any work; the handler's answer is then kept for the key, or the
key let go (chalicelib/idempotency/keys.py). A request without the header is untouched.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice.app import Request, Response

from chalicelib.edge import http

if TYPE_CHECKING:
    from chalicelib.idempotency.keys import Answer, Claim

REPLAYED = "Idempotent-Replayed"
# What a kept answer keeps besides its status and body (never a credential, never a rate
# window: those are the replay's own).
KEPT_HEADERS = ("Content-Type", "Location", "ETag", "Last-Modified", "Cache-Control")
# The bodies a kept answer may hold: metadata JSON or an error, never a file's body.
KEPT_TYPES = (http.JSON, http.PROBLEM)
# The request headers that change what a request means, besides its method, path, query, body.
MEANING_HEADERS = ("if-match", "if-none-match")


class _Replay(Exception):
    """The kept answer of this key's first request: out through @http.guarded untouched."""

    def __init__(self, response: Response) -> None:
        super().__init__("replay")
        self.response = response


# An upload's link: never kept (a presigned URL may carry the function's session token).
LINK_FIELDS = ("url", "method", "headers")


class _Held:
    """This request's claim, once the callback has made it."""

    claim: Claim | None = None

    def __init__(self, link: bool) -> None:
        self.link = link

    def after_admit(self, request: Request, tenant_id: str) -> None:
        raw = request.headers.get("idempotency-key")
        if raw is None:
            return
        from chalicelib.idempotency import keys

        key = keys.validate(str(raw))
        found = keys.claim(tenant_id, key, fingerprint(request))
        if isinstance(found, keys.Claim):
            self.claim = found
            return
        if self.link and found.status < 300:
            from chalicelib.files import uploads

            body = json.dumps(uploads.relinked(tenant_id, json.loads(found.body)))
            found = found._replace(body=body)
        raise _Replay(replayed(found))


def keyed(view: Callable[..., Response]) -> Callable[..., Response]:
    """The route honours Idempotency-Key: a replay answers the first answer again."""
    return _keyed(view, link=False)


def keyed_link(view: Callable[..., Response]) -> Callable[..., Response]:
    """keyed, for a route that answers an upload's link: the answer is kept without the link,
    and a replay signs it again for the same upload (chalicelib/files/uploads/links.relinked)."""
    return _keyed(view, link=True)


def _keyed(view: Callable[..., Response], link: bool) -> Callable[..., Response]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        held = _Held(link)
        token = http.after_admit.set(held.after_admit)
        try:
            response = view(*args, **kwargs)
        except _Replay as replay:
            return replay.response
        except BaseException:
            _release(held.claim)
            raise
        finally:
            http.after_admit.reset(token)
        if held.claim is not None:
            from chalicelib.idempotency import keys

            keys.finish(held.claim, answer(response, held.link))
        return response

    return wrapper


def _release(claim: Claim | None) -> None:
    if claim is not None:
        from chalicelib.idempotency import keys

        keys.release(claim)


def fingerprint(request: Request) -> str:
    """What makes two requests the same: method, path, query, body and preconditions."""
    import hashlib  # on use: a cold start without a key never loads it

    params: Any = request.query_params or {}
    query = sorted((k, v) for k in params for v in params.getlist(k))
    context = request.context or {}
    body = hashlib.sha256(http.body(request)).hexdigest()
    meaning = [request.headers.get(name) for name in MEANING_HEADERS]
    parts = [request.method, context.get("resourcePath"), request.uri_params or {}, query]
    text = json.dumps([*parts, body, meaning], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def answer(response: Response, link: bool = False) -> Answer | None:
    """The answer to keep, or None: one whose body may not be kept (it is not JSON text).
    `link`: a success's upload link is left out (LINK_FIELDS)."""
    from chalicelib.idempotency.keys import Answer

    sent = response.headers
    headers = {name: str(sent[name]) for name in KEPT_HEADERS if name in sent}
    raw = response.body
    if headers.get("Content-Type") not in KEPT_TYPES:
        return None
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    except UnicodeDecodeError:
        return None
    if link and response.status_code < 300:
        kept = {k: v for k, v in json.loads(text).items() if k not in LINK_FIELDS}
        text = json.dumps(kept, separators=(",", ":"))
    return Answer(response.status_code, headers, text)


def replayed(kept: Answer) -> Response:
    import chalicelib.logs as logs

    logs.bind(idempotent_replay=True)
    return http.response(kept.body, kept.status, {**kept.headers, REPLAYED: "true"})
