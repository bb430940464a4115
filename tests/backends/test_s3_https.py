"""The S3 driver's writes over HTTPS, as in production: our signed client streams a body
aws-chunked with a CRC32 trailer there (over plain HTTP it sends it whole), and S3 must store
exactly what botocore's own PutObject stores."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import moto_client
from support.moto import AWS_ENV
from support.moto_https import HttpsMoto
from support.net import started

BUCKET = "textfiles-https"


@pytest.fixture(scope="module")
def https_moto() -> Iterator[HttpsMoto]:
    server = started(HttpsMoto(), "moto server (HTTPS)")
    yield server
    server.stop()


@pytest.fixture
def store(https_moto: HttpsMoto, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from chalicelib.aws import clients
    from chalicelib.blobs.s3 import S3BlobStore

    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", https_moto.endpoint)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(https_moto.cert))
    clients.reset()
    _botocore(https_moto).create_bucket(Bucket=BUCKET)
    yield S3BlobStore(BUCKET)
    clients.reset()


def _botocore(moto: HttpsMoto) -> Any:
    return moto_client("s3", moto.endpoint, verify=str(moto.cert))


def _stored(s3: Any, key: str) -> tuple[bytes, str]:
    reply = s3.get_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    return reply["Body"].read(), reply.get("ChecksumCRC32", "")


@pytest.mark.parametrize("size", [0, 1, 70_000, 1024 * 1024 + 3])
def test_a_put_over_https_stores_what_botocore_stores(
    store: Any, https_moto: HttpsMoto, size: int
) -> None:
    body = ("текст ✓ " * (size // 8 + 1)).encode()[:size]
    assert store.fast.object_url(BUCKET, "k").startswith("https://")
    store.put("ours/a b+ü.txt", body)
    s3 = _botocore(https_moto)
    s3.put_object(Bucket=BUCKET, Key="botocore/a b+ü.txt", Body=body, ContentType="text/plain")
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert _stored(s3, "ours/a b+ü.txt") == (body, crc)
    assert _stored(s3, "botocore/a b+ü.txt") == (body, crc)
    assert store.get("ours/a b+ü.txt") == body


def test_a_delete_over_https_removes_the_object(store: Any, https_moto: HttpsMoto) -> None:
    from chalicelib.blobs import BlobMissing

    store.put("gone.txt", b"soon gone")
    store.delete("gone.txt")
    with pytest.raises(BlobMissing):
        store.head("gone.txt")


def test_the_certificates_are_read_once_for_every_client(store: Any) -> None:
    """A cold miss calls Secrets Manager and S3: both clients verify with one context, so a
    system bundle (~140 certificates, ~20 ms to parse) is parsed once per process."""
    from chalicelib.aws import clients

    secrets_client = clients.client("secretsmanager", signed=True)
    with pytest.raises(clients.service_errors()):
        secrets_client.get_secret_value(SecretId="textfiles-https-none")
    store.put("shared-context.txt", b"one context\n")
    contexts = {id(conn._context) for conn in (*secrets_client._idle, *store.fast._idle)}
    assert len(secrets_client._idle) == len(store.fast._idle) == 1
    assert len(contexts) == 1
