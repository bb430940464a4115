"""The read path's own SigV4 signer and client against botocore's, and its retries and errors.

The requests compared are the ones botocore's real clients build (captured just before
they would be sent): the same URL, the same headers, and an Authorization header equal
byte for byte, across partitions, awkward keys, session tokens and query strings.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.config import Config

from chalicelib.aws import clients, sigv4
from chalicelib.aws.https import (
    EndpointConnectionError,
    FlexibleChecksumError,
    ReadTimeoutError,
    ServiceError,
    SignedClient,
)
from support.net import free_port

REGIONS = ["us-east-1", "eu-central-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]
KEYS = [
    "tenants/t1/files/abc/0f9e",
    "a b/ü+%=&?~*'()!.txt",
    "日本語/ファイル #1;,@$[]{}|^`.txt",
    "dots/../and/./slashes//x",
]
TOKENS = [None, "FwoGZXIvYXdzEJr//////////wEaDP+token/with=padding=="]
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


class _Captured(Exception):
    def __init__(self, request: Any) -> None:
        self.request = request


@functools.cache
def _botocore_client(
    service: str, region: str, token: str | None, endpoint: str | None = None
) -> Any:
    """botocore's own client, stopped just before it would send a request."""
    client = _session().create_client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=token,
        # botocore's own endpoints, whatever AWS_ENDPOINT_URL an earlier test left behind
        config=Config(
            signature_version="s3v4" if service == "s3" else None,
            ignore_configured_endpoint_urls=True,
        ),
    )

    def stop(request: Any, **_: Any) -> None:
        raise _Captured(request)

    client.meta.events.register("before-send", stop)
    return client


@functools.cache
def _session() -> Any:
    return botocore.session.get_session()


def _botocore_request(
    service: str, region: str, token: str | None, call: Any, endpoint: str | None = None
) -> Any:
    """The request botocore's client would send: built and signed."""
    with pytest.raises(_Captured) as captured:
        call(_botocore_client(service, region, token, endpoint))
    return captured.value.request


def _ours(request: Any, service: str, region: str, token: str | None) -> dict[str, str]:
    """Our signature over the same request, at the same instant.

    botocore adds amz-sdk-invocation-id, amz-sdk-request and Content-Length after signing.
    """
    added_after = ("amz-sdk-invocation-id", "amz-sdk-request", "content-length")
    headers = {
        k: v.decode() if isinstance(v, bytes) else v
        for k, v in request.headers.items()
        if k.lower()
        not in ("authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256")
        and k.lower() not in added_after
    }
    return sigv4.sign(
        request.method,
        request.url,
        headers,
        request.body or b"",
        service=service,
        region=region,
        credentials=("AKIDEXAMPLE", SECRET_KEY, token),
        amz_date=request.headers["X-Amz-Date"].decode(),
    )


def _header(request: Any, name: str) -> str:
    value = request.headers[name]
    return value.decode() if isinstance(value, bytes) else str(value)


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("token", TOKENS, ids=["no-token", "token"])
def test_get_object_signature_equals_botocore(region: str, key: str, token: str | None) -> None:
    params = {"Bucket": "textfiles-prod-files", "Key": key, "Range": "bytes=0-65535"}
    request = _botocore_request("s3", region, token, lambda c: c.get_object(**params))
    ours = _ours(request, "s3", region, token)
    assert ours["Authorization"] == _header(request, "Authorization")
    assert ours["X-Amz-Content-SHA256"] == _header(request, "X-Amz-Content-SHA256")
    if token:
        assert ours["X-Amz-Security-Token"] == token
    endpoint = "https://s3.amazonaws.com" if region == "us-east-1" else None
    client = _signed("s3", region, endpoint)
    assert client.object_url(params["Bucket"], key) == request.url.split("?")[0]


@pytest.mark.parametrize("region", REGIONS[1:4])
@pytest.mark.parametrize(
    "query",
    [
        {"VersionId": "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"},
        {"ResponseContentDisposition": 'attachment; filename="ü & co.txt"', "PartNumber": 2},
        {"ResponseContentType": "text/plain; charset=utf-8", "ResponseCacheControl": "no-cache"},
    ],
)
def test_query_string_signature_equals_botocore(region: str, query: dict[str, Any]) -> None:
    params = {"Bucket": "textfiles-prod-files", "Key": "a b/ü.txt", **query}
    request = _botocore_request("s3", region, TOKENS[1], lambda c: c.get_object(**params))
    assert "?" in request.url
    assert _ours(request, "s3", region, TOKENS[1])["Authorization"] == _header(
        request, "Authorization"
    )


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("token", TOKENS, ids=["no-token", "token"])
@pytest.mark.parametrize(
    "secret_id",
    ["arn:aws:secretsmanager:eu-central-1:123456789012:secret:db-AbCdEf", "prod/db ü+/=@"],
)
def test_get_secret_value_signature_equals_botocore(
    region: str, token: str | None, secret_id: str
) -> None:
    request = _botocore_request(
        "secretsmanager", region, token, lambda c: c.get_secret_value(SecretId=secret_id)
    )
    ours = _ours(request, "secretsmanager", region, token)
    assert ours["Authorization"] == _header(request, "Authorization")
    client = _signed("secretsmanager", region, None)
    assert client.endpoint + "/" == request.url


def test_partitions_and_a_clear_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sigv4.dns_suffix("cn-northwest-1") == "amazonaws.com.cn"
    assert sigv4.dns_suffix("us-gov-east-1") == "amazonaws.com"
    assert sigv4.dns_suffix("il-central-1") == "amazonaws.com"
    for region in ("us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1", "mars-1"):
        with pytest.raises(sigv4.UnsupportedPartition, match="outside aws, aws-cn"):
            sigv4.dns_suffix(region)
    # The app then keeps botocore, which knows those partitions.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-iso-east-1")
    clients.reset()
    try:
        assert not isinstance(clients.client("secretsmanager", signed=True), SignedClient)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "cn-north-1")
        clients.reset()
        reader = clients.client("s3", signed=True)
        assert isinstance(reader, SignedClient)
        assert reader.endpoint == "https://s3.cn-north-1.amazonaws.com.cn"
    finally:
        clients.reset()


def _signed(
    service: str,
    region: str,
    endpoint: str | None,
    timeout: float = 1.0,
    token: str | None = None,
) -> SignedClient:
    if endpoint is None:
        host = "s3" if service == "s3" else service
        endpoint = f"https://{host}.{region}.{sigv4.dns_suffix(region)}"
    return SignedClient(
        service, region, endpoint, lambda: ("AKIDEXAMPLE", SECRET_KEY, token), timeout=timeout
    )


# --- the write path: our whole request against botocore's ---------------------------------


class _Sent(Exception):
    """Our client's request, stopped where it would go on the wire."""


class _Wire:
    sock = None

    def request(self, method: str, path: str, body: Any = None, headers: Any = None) -> None:
        raise _Sent(method, path, body, headers)

    def close(self) -> None:
        pass


def _our_request(client: SignedClient, amz_date: str, call: Any) -> tuple[Any, ...]:
    client.now = lambda: amz_date
    client._connection = lambda scheme, netloc: _Wire()  # type: ignore[assignment,method-assign,return-value]
    with pytest.raises(_Sent) as sent:
        call(client)
    return tuple(sent.value.args)


def _body(request: Any) -> bytes:
    body = request.body
    return bytes(body.read() if hasattr(body, "read") else body or b"")


BODIES = [b"hello world", b"", "ü and more\n".encode() * 2000]
ENDPOINTS = ["https://127.0.0.1:4566", "http://127.0.0.1:4566", None]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=["https-ip", "http-ip", "aws"])
@pytest.mark.parametrize("region", REGIONS[:4])
@pytest.mark.parametrize("key", KEYS[:3])
@pytest.mark.parametrize("token", TOKENS, ids=["no-token", "token"])
@pytest.mark.parametrize("body", BODIES, ids=["small", "empty", "big"])
def test_put_object_request_equals_botocore(
    endpoint: str | None, region: str, key: str, token: str | None, body: bytes
) -> None:
    """Over HTTPS botocore streams aws-chunked with a CRC32 trailer and an unsigned payload;
    over HTTP it signs the payload's hash and sends the CRC32 as a header. So do we."""
    params = {"Bucket": "textfiles-prod-files", "Key": key, "Body": body}
    params["ContentType"] = "text/plain; charset=utf-8"
    request = _botocore_request("s3", region, token, lambda c: c.put_object(**params), endpoint)
    if endpoint is None and region == "us-east-1":
        endpoint = "https://s3.amazonaws.com"
    client = _signed("s3", region, endpoint, token=token)
    amz_date = _header(request, "X-Amz-Date")
    method, path, sent, headers = _our_request(client, amz_date, lambda c: c.put_object(**params))
    assert method == request.method == "PUT"
    assert client.object_url("textfiles-prod-files", key) == request.url
    assert path == urlsplit(request.url).path
    assert headers["Authorization"] == _header(request, "Authorization")
    assert (sent or b"") == _body(request)
    signed = _header(request, "Authorization").split("SignedHeaders=")[1].split(",")[0]
    lower = {k.lower(): v for k, v in headers.items()}
    for name in signed.split(";"):
        if name != "host":
            assert lower[name] == _header(request, name), name


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=["https-ip", "http-ip", "aws"])
@pytest.mark.parametrize("token", TOKENS, ids=["no-token", "token"])
def test_delete_object_request_equals_botocore(endpoint: str | None, token: str | None) -> None:
    params = {"Bucket": "textfiles-prod-files", "Key": KEYS[1]}
    request = _botocore_request(
        "s3", "eu-central-1", token, lambda c: c.delete_object(**params), endpoint
    )
    client = _signed("s3", "eu-central-1", endpoint, token=token)
    amz_date = _header(request, "X-Amz-Date")
    method, path, sent, headers = _our_request(
        client, amz_date, lambda c: c.delete_object(**params)
    )
    assert method == "DELETE" and path == urlsplit(request.url).path and not sent
    assert headers["Authorization"] == _header(request, "Authorization")


# --- retries and errors, against a scripted local server ---------------------------------


class _Script(http.server.BaseHTTPRequestHandler):
    replies: ClassVar[list[tuple[int, dict[str, str], bytes]]] = []
    seen: ClassVar[list[str]] = []
    bodies: ClassVar[list[bytes]] = []

    def _answer(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        length = int(self.headers.get("Content-Length") or 0)
        self.bodies.append(self.rfile.read(length))
        status, headers, body = self.replies.pop(0) if self.replies else (200, {}, b"ok")
        if status == 0:  # hang longer than the client's timeout
            threading.Event().wait(1.5)
            status = 200
        try:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (a timeout test)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[tuple[str, type[_Script]]]:
    handler = type("Script", (_Script,), {"replies": [], "seen": [], "bodies": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _client(endpoint: str, service: str = "s3") -> tuple[SignedClient, list[float]]:
    client = _signed(service, "eu-central-1", endpoint, timeout=0.5)
    sleeps: list[float] = []
    client.sleep = sleeps.append
    return client, sleeps


NO_SUCH_KEY = b"<Error><Code>NoSuchKey</Code><Message>The key does not exist</Message></Error>"


def test_transient_errors_are_retried_with_backoff(scripted: Any) -> None:
    endpoint, script = scripted
    script.replies += [(503, {}, b""), (500, {}, b"<Error><Code>InternalError</Code></Error>")]
    client, sleeps = _client(endpoint)
    assert client.get_object(Bucket="b", Key="k")["Body"].read() == b"ok"
    assert len(script.seen) == 3 and len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.05 and 0 <= sleeps[1] <= 0.1
    assert client.quota.available == 500 - 2 * 14 + 14  # two retries; the last one refunded


def test_three_attempts_at_most_then_the_error(scripted: Any) -> None:
    endpoint, script = scripted
    script.replies += [(503, {}, b"<Error><Code>SlowDown</Code></Error>")] * 4
    client, sleeps = _client(endpoint)
    with pytest.raises(ServiceError) as raised:
        client.get_object(Bucket="b", Key="k")
    assert clients.error_code(raised.value) == "SlowDown"
    assert len(script.seen) == 3 and all(s <= 2.0 for s in sleeps)


def test_client_errors_are_not_retried(scripted: Any) -> None:
    endpoint, script = scripted
    script.replies.append((404, {}, NO_SUCH_KEY))
    client, sleeps = _client(endpoint)
    with pytest.raises(ServiceError) as raised:
        client.get_object(Bucket="b", Key="k")
    assert clients.error_code(raised.value) == "NoSuchKey"
    assert len(script.seen) == 1 and not sleeps
    error = b'{"__type": "ResourceNotFoundException", "Message": "no such secret"}'
    script.replies.append((400, {}, error))
    secrets, _ = _client(endpoint, "secretsmanager")
    with pytest.raises(ServiceError) as raised:
        secrets.get_secret_value(SecretId="x")
    assert clients.error_code(raised.value) == "ResourceNotFoundException"


def test_writes_are_retried_like_reads_and_resend_the_whole_body(scripted: Any) -> None:
    endpoint, script = scripted
    script.replies += [(503, {}, b"<Error><Code>SlowDown</Code></Error>")]
    script.replies += [(200, {"ETag": '"abc"'}, b"")]
    client, sleeps = _client(endpoint)
    reply = client.put_object(Bucket="b", Key="k", Body=b"hello world", ContentType="text/plain")
    assert reply["ETag"] == '"abc"' and len(sleeps) == 1
    assert script.bodies == [b"hello world"] * 2
    denied = b"<Error><Code>AccessDenied</Code><Message>no</Message></Error>"
    script.replies.append((403, {}, denied))
    with pytest.raises(ServiceError) as raised:
        client.delete_object(Bucket="b", Key="k")
    assert clients.error_code(raised.value) == "AccessDenied" and len(script.seen) == 3


def test_timeouts_and_refused_connections(scripted: Any) -> None:
    endpoint, script = scripted
    script.replies += [(0, {}, b"")] * 3
    client, _ = _client(endpoint)
    with pytest.raises(ReadTimeoutError):
        client.get_object(Bucket="b", Key="k")
    assert len(script.seen) == 3
    refused, sleeps = _client(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(EndpointConnectionError):
        refused.get_object(Bucket="b", Key="k")
    assert len(sleeps) == 2


def test_reply_checksum_is_checked(scripted: Any) -> None:
    endpoint, script = scripted
    good = "DUoRhQ=="  # crc32 of b"hello world", base64
    script.replies.append((200, {"x-amz-checksum-crc32": good}, b"hello world"))
    script.replies.append((200, {"x-amz-checksum-crc32": good}, b"hello w0rld"))
    script.replies.append((200, {"x-amz-checksum-crc32": "AAAAAA==-3"}, b"multipart"))
    client, _ = _client(endpoint)
    assert client.get_object(Bucket="b", Key="k")["Body"].read() == b"hello world"
    with pytest.raises(FlexibleChecksumError):
        client.get_object(Bucket="b", Key="k")
    assert client.get_object(Bucket="b", Key="k")["Body"].read() == b"multipart"


def test_https_verifies_certificates_without_parsing_the_whole_store() -> None:
    import ssl

    from chalicelib.aws.https import _ssl_context

    context = _ssl_context("")
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    capath = ssl.get_default_verify_paths().capath
    if capath and any(n.endswith(".0") for n in os.listdir(capath)):
        assert context.cert_store_stats()["x509_ca"] == 0, "certificates are read on demand"
