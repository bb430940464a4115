"""Range, If-Range and HEAD in the route table (chalicelib/edge/ranges.py answers them): a body
route made ranged, and the HEAD operation of a GET."""

from __future__ import annotations

from typing import Any

from chalicelib.edge.openapi.entries import Param, Reply, Route
from chalicelib.errors import RangeNotSatisfiable

RANGE = Param(
    "Range",
    "header",
    {"type": "string", "maxLength": 200, "example": "bytes=0-1023"},
    "One byte range of the stored body: bytes=FIRST-LAST, bytes=FIRST- or bytes=-SUFFIX"
    " (206). Another unit, a syntax error or several ranges are ignored (the whole body, 200).",
)
IF_RANGE = Param(
    "If-Range",
    "header",
    {"type": "string", "example": '"3f2a…"'},
    "The range only if the body is still this one: its ETag (strong comparison) or its"
    " Last-Modified date; otherwise the whole body (200).",
)
BODY_HEADERS = ("ETag", "Last-Modified", "Accept-Ranges", "Vary")
PARTIAL_HEADERS = ("ETag", "Last-Modified", "Accept-Ranges", "Content-Range", "Content-Encoding")
# The descriptions of the headers these answers add (render.py's components).
HEADER_NOTES = {
    "Accept-Ranges": "bytes: a GET of this body takes a Range.",
    "Content-Range": "bytes FIRST-LAST/SIZE on a 206; bytes */SIZE on a 416.",
    "Content-Encoding": "identity on a 206: never compressed, the range counts stored bytes.",
    "Content-Length": "The body's length in bytes (on HEAD: the length GET would send).",
    "Vary": "Accept-Encoding: a body may be sent gzip-compressed to a client that accepts it.",
}
# The GETs of a body that answer Range (chalicelib/edge/ranges.py)
RANGED = ("readFile", "readNamed", "readVersion", "getLocalBlob")
# GET operation -> its HEAD operation
HEADS = {
    "readFile": "headFile",
    "readNamed": "headNamed",
    "readMetadata": "headMetadata",
    "readVersion": "headVersion",
    "readVersionMetadata": "headVersionMetadata",
    "getLocalBlob": "",  # a link is signed for GET only
}


def ranged(route: Route) -> Route:
    """A GET of a body that takes Range and If-Range: 206 beside its 200, 416 among errors."""
    whole = route.replies["200"]
    replies = dict(route.replies)
    replies["200"] = whole._replace(headers=tuple(dict.fromkeys((*whole.headers, *BODY_HEADERS))))
    replies["206"] = Reply(
        "One range of the body (Range): Content-Range says which bytes of how many.",
        whole.schema,
        whole.media,
        PARTIAL_HEADERS,
    )
    return route._replace(
        replies=dict(sorted(replies.items())),
        errors=(*route.errors, RangeNotSatisfiable),
        params=(*route.params, RANGE, IF_RANGE),
    )


def _head_reply(status: str, reply: Reply) -> Reply:
    extra = ("Content-Length",) if status == "200" else ()
    return Reply(reply.description, None, reply.media, (*reply.headers, *extra))


def head(route: Route, op_id: str) -> Route:
    """GET's answers, headers only: no body, never a redirect, Range ignored."""
    replies = {s: _head_reply(s, r) for s, r in route.replies.items() if s not in ("206", "307")}
    return Route(
        "HEAD",
        route.path,
        op_id,
        f"HEAD: what GET answers, without the body. {route.summary}",
        replies,
        errors=tuple(e for e in route.errors if e is not RangeNotSatisfiable),
        params=tuple(p for p in route.params if p not in (RANGE, IF_RANGE)),
        secured=route.secured,
    )


def with_ranges_and_heads(routes: tuple[Route, ...]) -> tuple[Route, ...]:
    """The table with Range on the GETs of a body, and the HEAD operations beside their GETs."""
    ranged_routes = tuple(ranged(r) if r.op_id in RANGED else r for r in routes)
    return (
        *ranged_routes,
        *(head(r, HEADS[r.op_id]) for r in ranged_routes if HEADS.get(r.op_id)),
    )


PARTIAL_EXAMPLE = "eggs\n"
EXAMPLES: dict[str, tuple[dict[str, Any], Any]] = {
    name: ({}, None) for name in HEADS.values() if name
}
