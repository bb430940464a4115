"""What fits through API Gateway and Lambda: the inline limits follow from these sizes.

Bodies travel base64-encoded both ways (every media type is binary to API Gateway, see
chalicelib/edge/http.py), so a body of n bytes always takes 4 * ceil(n / 3) bytes of the event or
of the response, whatever its characters: no JSON escaping of CJK text, short lines or
control characters can make it larger. The rest of the event (headers twice, query string
twice, the request context) is bounded by API Gateway's 10,240 bytes of request line and
header values; the reserve below covers it four times over, JSON-escaped.
"""

from __future__ import annotations

LAMBDA_EVENT_LIMIT = 6_291_456  # bytes of a synchronous invocation's request payload
LAMBDA_RESPONSE_LIMIT = 6_291_556  # bytes of its response, as the runtime serialises it
EVENT_RESERVE = 128 * 1024  # everything in the event but the body
RESPONSE_RESERVE = 16 * 1024  # everything in the response but the body (our own headers)


def base64_size(n: int) -> int:
    return 4 * ((n + 2) // 3)


def largest_body(limit: int, reserve: int) -> int:
    """The largest body whose base64 form fits in `limit` bytes beside `reserve` bytes."""
    return (limit - reserve) // 4 * 3


# The largest body that fits both a request event and a response: 4,620,288 bytes.
INLINE_CEILING = min(
    largest_body(LAMBDA_EVENT_LIMIT, EVENT_RESERVE),
    largest_body(LAMBDA_RESPONSE_LIMIT, RESPONSE_RESERVE),
)
