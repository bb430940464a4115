"""The change feed's routes (docs/changes.md, a Chalice Blueprint): follow the tenant's changes
in commit order, with a long poll. Each handler parses, calls one use case, answers."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.edge import http

# The use cases are imported inside each handler: no other route's cold start loads them.

bp = Blueprint(__name__)


@bp.route("/changes", methods=["GET"])
@http.guarded
def list_changes() -> Response:
    from chalicelib.changes import feed, waiting
    from chalicelib.files.rules import parse_limit

    request = http.current(bp)
    tenant = http.authenticate(request).tenant
    after = feed.parse_cursor(http.query(request, "cursor"))
    raw_limit = http.query(request, "limit")
    limit = feed.DEFAULT_LIMIT if raw_limit is None else parse_limit(raw_limit)
    wait_s = waiting.parse_wait(http.query(request, "wait"))
    changes, last = waiting.follow(tenant.id, after, limit, wait_s)
    body = {"items": [feed.public(c) for c in changes], "next_cursor": feed.cursor(last)}
    return http.json_response(body)


@bp.route("/changes/latest", methods=["GET"])
@http.guarded
def latest_change() -> Response:
    from chalicelib.changes import feed

    tenant = http.authenticate(http.current(bp)).tenant
    return http.json_response({"next_cursor": feed.latest(tenant.id)})
