"""AWS Signature Version 4, as botocore computes it, for the cold request path's calls.

A cold cache miss reads the database secret (Secrets Manager GetSecretValue) and a body
(S3 GetObject); a cold create writes one (S3 PutObject, DeleteObject to clean up). Building
botocore clients for them costs more than the rest of the request (service models, endpoint
rule sets: docs/bench.md), so these calls are signed here with the standard library.
tests/backends/test_sigv4.py holds the signature byte for byte equal to botocore's
SigV4Auth / S3SigV4Auth. Every other AWS call goes through botocore.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import re
import threading
import zlib
from urllib.parse import quote, urlsplit

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# S3's payload hash for an aws-chunked body whose checksum comes in a trailer (botocore's
# choice for PutObject over HTTPS).
STREAMING_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
# Headers botocore leaves out of the signature (botocore.auth.SIGNED_HEADERS_BLACKLIST).
UNSIGNED_HEADERS = frozenset(
    {
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)
DEFAULT_PORTS = {"http": 80, "https": 443}
# The commercial partition's regions (us-east-1, eu-central-2, ap-southeast-5, il-central-1...).
_AWS_REGION = re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d+$")


class UnsupportedPartition(ValueError):
    """A region outside aws, aws-cn and aws-us-gov: the caller keeps botocore for it."""


def dns_suffix(region: str) -> str:
    """The partition's DNS suffix for a region; other partitions are refused."""
    if re.fullmatch(r"cn-[a-z]+-\d+", region):
        return "amazonaws.com.cn"
    if re.fullmatch(r"us-gov-[a-z]+-\d+", region) or _AWS_REGION.fullmatch(region):
        return "amazonaws.com"
    raise UnsupportedPartition(f"region {region!r} is outside aws, aws-cn and aws-us-gov")


def _host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4, with repeated slashes collapsed (botocore.utils.remove_dot_segments)."""
    if not path:
        return "/"
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if out:
                out.pop()
        elif segment and segment != ".":
            out.append(segment)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and out else ""
    return first + "/".join(out) + last


def canonical_query(query: str) -> str:
    pairs = [pair.partition("=") for pair in query.split("&")] if query else []
    return "&".join(f"{k}={v}" for k, v in sorted((k, v) for k, _, v in pairs))


def _canonical_headers(headers: dict[str, str], url: str) -> tuple[str, str]:
    signed: dict[str, list[str]] = {}
    for name, value in headers.items():
        if name.lower() not in UNSIGNED_HEADERS:
            signed.setdefault(name.lower(), []).append(" ".join(value.split()))
    signed.setdefault("host", [_host(url)])
    names = sorted(signed)
    lines = "".join(f"{n}:{','.join(signed[n])}\n" for n in names)
    return lines, ";".join(names)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret_key: str, day: str, region: str, service: str) -> bytes:
    k = _hmac(f"AWS4{secret_key}".encode(), day)
    return _hmac(_hmac(_hmac(k, region), service), "aws4_request")


def _canonical_request(
    method: str, url: str, headers: dict[str, str], body: bytes, service: str
) -> tuple[str, str]:
    """The canonical request and its signed-header list; S3 gets X-Amz-Content-SHA256
    (the body's hash unless the caller set it, as for a streamed body)."""
    payload = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
    parts = urlsplit(url)
    if service == "s3":
        payload = headers.setdefault("X-Amz-Content-SHA256", payload)
        path = parts.path or "/"
    else:
        payload = headers.get("X-Amz-Content-SHA256", payload)
        path = quote(_remove_dot_segments(parts.path), safe="/~")
    header_lines, signed = _canonical_headers(headers, url)
    canonical = "\n".join(
        [method.upper(), path, canonical_query(parts.query), header_lines, signed, payload]
    )
    return canonical, signed


def sign(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    service: str,
    region: str,
    credentials: tuple[str, str, str | None],
    amz_date: str,
) -> dict[str, str]:
    """The request's headers with X-Amz-Date, the session token and Authorization added.

    ``credentials`` is (access key, secret key, session token or None); ``amz_date`` is
    ``YYYYMMDDTHHMMSSZ``. S3 signs the payload's hash into X-Amz-Content-SHA256 and keeps
    the path as sent; other services normalise the path.
    """
    access_key, secret_key, token = credentials
    out = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "x-amz-date")}
    out["X-Amz-Date"] = amz_date
    if token:
        out["X-Amz-Security-Token"] = token
    canonical, signed = _canonical_request(method, url, out, body, service)
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = signing_key(secret_key, amz_date[:8], region, service)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    return out


# --- body checksums (botocore's flexible checksums) ------------------------------------


def checksum(name: str, body: bytes) -> str:
    """The base64 value of an x-amz-checksum-<name> header: crc32, sha1, sha256 or sha512."""
    if name == "crc32":
        digest = (zlib.crc32(body) & 0xFFFFFFFF).to_bytes(4, "big")
    else:
        digest = hashlib.new(name, body).digest()
    return base64.b64encode(digest).decode()


def aws_chunked(body: bytes, trailer: str, value: str) -> bytes:
    """The body as one aws-chunked chunk, the terminal chunk and a checksum trailer."""
    chunk = f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b""
    return chunk + f"0\r\n{trailer}:{value}\r\n\r\n".encode()


# --- botocore's standard retry mode (botocore.retries.standard) -----------------------

THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
    }
)
TRANSIENT = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
TRANSIENT_STATUS = frozenset({500, 502, 503, 504})


class RetryQuota:
    """botocore's standard-mode retry quota: retries spend tokens, successes refund them."""

    def __init__(self, capacity: int = 500) -> None:
        self.capacity = self.available = capacity
        self._lock = threading.Lock()

    def acquire(self, amount: int) -> bool:
        with self._lock:
            if amount > self.available:
                return False
            self.available -= amount
            return True

    def release(self, amount: int) -> None:
        with self._lock:
            self.available = min(self.capacity, self.available + amount)


def backoff(attempt: int, throttled: bool, retry_after: str | None) -> float:
    """botocore's ExponentialBackoff: rand * min(scale * 2**(attempt-1), 20), x-amz-retry-after."""
    delay: float = random.random() * min((1.0 if throttled else 0.05) * 2 ** (attempt - 1), 20.0)
    if retry_after is not None:
        try:
            wait = int(retry_after) / 1000
        except ValueError:
            wait = -1
        if wait >= 0:
            return max(delay, min(wait, 5 + delay))
    return delay
