"""Byte ranges of a body (RFC 9110, section 14), decided in one place for every body the API
answers itself: a file's, a version's, a local link's. A range addresses the stored bytes,
never a compressed form, and a 206 is never compressed (docs/api.md#ranges-and-head).

- `Range: bytes=a-b`, `bytes=a-`, `bytes=-n`: 206 with `Content-Range`; a first byte at or past
  the end (or `-0`): 416 with `Content-Range: bytes */SIZE`.
- A Range with another unit, a syntax error or several ranges is ignored (RFC 9110 14.2
  allows it): the whole body, 200.
- `If-Range`: the range only when it names the current body (an ETag compared strongly, or a
  date equal to Last-Modified); otherwise the whole body, 200.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from chalice.app import Request, Response

from chalicelib.edge.responses import TEXT, response
from chalicelib.errors import RangeNotSatisfiable

if TYPE_CHECKING:
    from chalicelib.files.rules import FileMeta, Tagged

ACCEPT_RANGES = "bytes"
# One byte range; RFC 9110 allows whitespace around it, and the unit in any case.
_ONE_RANGE = re.compile(r"bytes=[ \t]*([0-9]*)-([0-9]*)[ \t]*", re.IGNORECASE)
_BEYOND = 10**18  # a position past any body (longer digit strings never reach int())


class Span(NamedTuple):
    """Bytes first..last of a body, both included."""

    first: int
    last: int


def _position(digits: str) -> int:
    return int(digits) if len(digits) < 18 else _BEYOND


def requested(header: str | None, size: int) -> Span | None:
    """The one range `header` asks for of a body of `size` bytes; None for the whole body.
    Raises RangeNotSatisfiable when no byte of the body is in it."""
    match = _ONE_RANGE.fullmatch(header.strip()) if header else None
    if match is None:
        return None  # no Range, another unit, a syntax error or a list of ranges: ignored
    first, last = match.groups()
    if not first:  # a suffix: the last n bytes
        if not last:
            return None  # "bytes=-" is not a range
        length = _position(last)
        if length == 0:
            raise RangeNotSatisfiable(size)
        return Span(max(0, size - length), size - 1) if size else None
    start, end = _position(first), _position(last) if last else _BEYOND
    if end < start:
        return None  # an invalid range-spec: the header is ignored
    if start >= size:
        raise RangeNotSatisfiable(size)
    return Span(start, min(end, size - 1))


def if_range_holds(if_range: str | None, etag: str | None, last_modified: str | None) -> bool:
    """Whether If-Range (absent: yes) names the current body: an entity tag by strong
    comparison (a weak tag never does), or an HTTP date exactly equal to Last-Modified."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith('"'):
        return etag is not None and not etag.startswith("W/") and value == etag
    if value.startswith("W/"):
        return False
    return last_modified is not None and value == last_modified


def select(request: Request, size: int, headers: dict[str, str]) -> Span | None:
    """The range to answer for this request (None: the whole body), given the body's
    validators in `headers` (ETag, Last-Modified)."""
    if request.method != "GET":
        return None  # range handling is defined for GET only (RFC 9110 14.2)
    range_header = request.headers.get("range")
    if range_header is None:
        return None
    if not if_range_holds(
        request.headers.get("if-range"), headers.get("ETag"), headers.get("Last-Modified")
    ):
        return None
    return requested(range_header, size)


def body_response(request: Request, body: bytes, headers: dict[str, str]) -> Response:
    """The body as asked for: 200 whole, 206 one range of it (416 raised)."""
    headers = {**headers, "Accept-Ranges": ACCEPT_RANGES}
    span = select(request, len(body), headers)
    if span is None:
        return response(body, 200, headers)
    headers["Content-Range"] = f"bytes {span.first}-{span.last}/{len(body)}"
    # Any Content-Encoding keeps API Gateway from compressing an answer (its documented
    # rule); `identity` says the bytes are as stored: Content-Range counts them.
    headers["Content-Encoding"] = "identity"
    return response(body[span.first : span.last + 1], 206, headers)


def head_response(size: int, headers: dict[str, str]) -> Response:
    """What GET would answer, with no body: its length in Content-Length."""
    extra = {"Accept-Ranges": ACCEPT_RANGES, "Content-Length": str(size)}
    return response(b"", 200, {**headers, **extra})


def file_validators(meta: FileMeta) -> dict[str, str]:
    """What every answer about a file's current body carries (GET, HEAD, 304, redirect)."""
    import chalicelib.clock as clock

    return {
        "ETag": meta.etag,
        "Last-Modified": clock.http_date(meta.updated_us),
        "Cache-Control": "private, no-cache",
    }


def file_head(meta: FileMeta, headers: Mapping[str, str]) -> Response:
    """HEAD of a file's body: GET's preconditions (412) and headers, its length, no body;
    never a redirect (a link is signed for GET only), and Range is ignored (RFC 9110 defines
    it for GET)."""
    import chalicelib.files.reading as reading

    reading.preconditions(reading.BodyAnswer(meta, b""), headers)
    return head_answer(meta, meta.size, file_validators(meta), headers.get("if-none-match"))


def head_answer(
    tagged: Tagged, size: int, headers: dict[str, str], if_none_match: str | None
) -> Response:
    """HEAD of a body we hold the metadata of: 304 as GET would, else its headers and size."""
    from chalicelib.files.rules import etag_matches

    if etag_matches(tagged, if_none_match):
        return response("", 304, headers)
    return head_response(size, {"Content-Type": TEXT, **headers})
