"""A small HTTPS client for the cold path's calls (chalicelib.aws.sigv4): S3 GetObject, PutObject
and DeleteObject, and Secrets Manager GetSecretValue.

It answers like a botocore client for these calls: the same parameters and reply keys,
errors shaped like botocore's (``exc.response["Error"]["Code"]``, transport errors with
botocore's class names), botocore's standard retry mode (3 attempts, exponential backoff
with jitter, a retry quota), the same timeouts, AWS_CA_BUNDLE and endpoint settings, the
request checksum of PutObject and the response checksum check of GetObject.
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from chalicelib.aws import sigv4

Credentials = tuple[str, str, str | None]
_DNS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


class ServiceError(Exception):
    """An error reply, shaped like botocore's ClientError."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code} ({status}): {message}")
        self.response = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }


class TransportError(Exception):
    """No usable reply; subclasses carry botocore's names for the same failures."""


class EndpointConnectionError(TransportError): ...


class ConnectTimeoutError(TransportError): ...


class ReadTimeoutError(TransportError): ...


class ConnectionClosedError(TransportError): ...


class SSLError(TransportError): ...


class FlexibleChecksumError(TransportError): ...


@functools.cache
def _ssl_context(ca_bundle: str) -> ssl.SSLContext:
    """A verifying context, one per process for every client (parsing a system bundle of
    ~140 certificates takes ~20 ms). Where the system keeps a hashed certificate directory,
    OpenSSL reads the certificates it needs from it one by one instead of the whole bundle."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
        return context
    capath = ssl.get_default_verify_paths().capath
    if capath and any(name.endswith(".0") for name in os.listdir(capath)):
        context.load_verify_locations(capath=capath)
    else:
        context.load_default_certs()
    return context


class SignedClient:
    """One service in one region: ``get/put/delete_object`` (s3) or ``get_secret_value``."""

    def __init__(
        self,
        service: str,
        region: str,
        endpoint: str,
        credentials: Callable[[], Credentials],
        *,
        timeout: float,
        max_attempts: int = 3,
        ca_bundle: str = "",
    ) -> None:
        self.service, self.region, self.endpoint = service, region, endpoint.rstrip("/")
        self.credentials, self.timeout, self.max_attempts = credentials, timeout, max_attempts
        self.ca_bundle = ca_bundle
        self.quota = sigv4.RetryQuota()
        self.calls = 0  # API calls made (retries not counted), for the bench
        self.sleep: Callable[[float], None] = time.sleep
        self.now: Callable[[], str] = _amz_now
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    # --- the operations ---------------------------------------------------------------

    def object_url(self, bucket: str, key: str) -> str:
        """Virtual-hosted for a DNS-safe bucket unless the endpoint is an IP, as botocore."""
        parts = urlsplit(self.endpoint)
        host = parts.hostname or ""
        path = quote(key, safe="/~")
        if _DNS_BUCKET.match(bucket) and not re.fullmatch(r"[\d.]+|.*:.*", host):
            return f"{parts.scheme}://{bucket}.{parts.netloc}{parts.path}/{path}"
        return f"{self.endpoint}/{quote(bucket, safe='')}/{path}"

    def get_object(self, *, Bucket: str, Key: str, Range: str | None = None) -> dict[str, Any]:
        url = self.object_url(Bucket, Key)
        headers = {"x-amz-checksum-mode": "ENABLED"}
        if Range:
            headers["Range"] = Range
        status, reply, body = self._call("GET", url, headers, b"", _s3_error)
        _check_checksum(reply, body)
        return {
            "Body": _Body(body),
            "ContentLength": len(body),
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    def put_object(
        self, *, Bucket: str, Key: str, Body: bytes, ContentType: str = ""
    ) -> dict[str, Any]:
        """As botocore sends it: with a CRC32 checksum, over HTTPS in an aws-chunked body
        with the checksum in a trailer (payload unsigned), else whole with its hash signed."""
        url = self.object_url(Bucket, Key)
        crc = sigv4.checksum("crc32", Body)
        headers = {"x-amz-sdk-checksum-algorithm": "CRC32"}
        if ContentType:
            headers["Content-Type"] = ContentType
        if url.startswith("https:"):
            headers["Content-Encoding"] = "aws-chunked"
            headers["X-Amz-Trailer"] = "x-amz-checksum-crc32"
            headers["X-Amz-Decoded-Content-Length"] = str(len(Body))
            headers["X-Amz-Content-SHA256"] = sigv4.STREAMING_TRAILER
            Body = sigv4.aws_chunked(Body, "x-amz-checksum-crc32", crc)
        else:
            headers["x-amz-checksum-crc32"] = crc
        status, reply, _ = self._call("PUT", url, headers, Body, _s3_error)
        return {"ETag": reply.get("etag", ""), "ResponseMetadata": {"HTTPStatusCode": status}}

    def delete_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        status, _, _ = self._call("DELETE", self.object_url(Bucket, Key), {}, b"", _s3_error)
        return {"ResponseMetadata": {"HTTPStatusCode": status}}

    def get_secret_value(self, *, SecretId: str) -> dict[str, Any]:
        headers = {
            "X-Amz-Target": "secretsmanager.GetSecretValue",
            "Content-Type": "application/x-amz-json-1.1",
        }
        payload = json.dumps({"SecretId": SecretId}).encode()
        _, _, body = self._call("POST", self.endpoint + "/", headers, payload, _json_error)
        parsed: dict[str, Any] = json.loads(body or b"{}")
        if "SecretBinary" in parsed:
            parsed["SecretBinary"] = base64.b64decode(parsed["SecretBinary"])
        return parsed

    # --- one call, with botocore's standard retries ---------------------------------

    def _call(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        parse_error: Callable[[int, dict[str, str], bytes], tuple[str, str]],
    ) -> tuple[int, dict[str, str], bytes]:
        spent = 0
        self.calls += 1
        for attempt in range(1, self.max_attempts + 1):
            error: Exception
            try:
                status, reply, data = self._send(method, url, headers, body)
            except TransportError as exc:
                error, code, status, retry_after = exc, "", 0, None
            else:
                if status < 300:
                    self.quota.release(spent or 1)
                    return status, reply, data
                code, message = parse_error(status, reply, data)
                error = ServiceError(code, message, status)
                retry_after = reply.get("x-amz-retry-after")
            throttled = code in sigv4.THROTTLING or status == 429
            transient = code in sigv4.TRANSIENT or status in sigv4.TRANSIENT_STATUS
            retryable = throttled or transient or not status
            cost = 5 if throttled else 14
            if attempt == self.max_attempts or not retryable or not self.quota.acquire(cost):
                raise error
            spent = cost
            self.sleep(sigv4.backoff(attempt, throttled, retry_after))
        raise AssertionError("unreachable")

    def _send(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        signed = sigv4.sign(
            method, url, headers, body, service=self.service, region=self.region,
            credentials=self.credentials(), amz_date=self.now(),
        )  # fmt: skip
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn = self._connection(parts.scheme, parts.netloc)
        try:
            conn.request(method, path, body=body or None, headers=signed)
            response = conn.getresponse()
            data = response.read()
            reply = {k.lower(): v for k, v in response.getheaders()}
        except BaseException as exc:
            unconnected = conn.sock is None
            conn.close()
            raise _transport_error(exc, unconnected) from exc
        with self._lock:
            self._idle.append(conn)
        return response.status, reply, data

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        with self._lock:
            for conn in self._idle:
                if (conn.host, conn.port) == _split_netloc(netloc, scheme):
                    self._idle.remove(conn)
                    return conn
        host, port = _split_netloc(netloc, scheme)
        if scheme == "http":
            return http.client.HTTPConnection(host, port, timeout=self.timeout)
        context = _ssl_context(self.ca_bundle)
        return http.client.HTTPSConnection(host, port, timeout=self.timeout, context=context)


def _amz_now() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def _split_netloc(netloc: str, scheme: str) -> tuple[str, int]:
    parts = urlsplit(f"{scheme}://{netloc}")
    return parts.hostname or "", parts.port or sigv4.DEFAULT_PORTS[scheme]


def _transport_error(exc: BaseException, unconnected: bool) -> BaseException:
    if not isinstance(exc, Exception):
        return exc  # KeyboardInterrupt and the like pass through unchanged
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return SSLError(str(exc))
    if isinstance(exc, socket.timeout | TimeoutError):
        return (ConnectTimeoutError if unconnected else ReadTimeoutError)(str(exc))
    if isinstance(exc, OSError) and unconnected:
        return EndpointConnectionError(str(exc))
    if isinstance(exc, OSError | http.client.HTTPException):
        return ConnectionClosedError(str(exc))
    return exc


class _Body:
    """The reply body, read like botocore's StreamingBody."""

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    def read(self) -> bytes:
        data, self._data = self._data or b"", b""
        return data


def _check_checksum(headers: dict[str, str], body: bytes) -> None:
    """GetObject's reply checksum, checked as botocore does (whole-object values only)."""
    for name in ("crc32", "sha1", "sha256", "sha512"):
        expected = headers.get(f"x-amz-checksum-{name}")
        if expected is None or "-" in expected:
            continue
        if sigv4.checksum(name, body) != expected:
            raise FlexibleChecksumError(f"{name} checksum mismatch")
        return


def _s3_error(status: int, headers: dict[str, str], body: bytes) -> tuple[str, str]:
    text = body.decode("utf-8", "replace")
    code = re.search(r"<Code>([^<]*)</Code>", text)
    message = re.search(r"<Message>([^<]*)</Message>", text)
    if code is None:
        return str(status), http.client.responses.get(status, "")
    return code.group(1), message.group(1) if message else ""


def _json_error(status: int, headers: dict[str, str], body: bytes) -> tuple[str, str]:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        parsed = {}
    code = str(parsed.get("__type") or headers.get("x-amzn-errortype", "").split(":")[0])
    message = str(parsed.get("message") or parsed.get("Message") or "")
    return code.rsplit("#", 1)[-1] or str(status), message
