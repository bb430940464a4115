"""Every driver of a port behind one fixture, so each contract test runs once per driver.

The drivers are built directly (not through the port's factory), each on a backend of the
test session's: a folder and S3 on the moto server for blobs; the in-process dictionary and
the session's memcached for the cache. A test isolates itself by a fresh key prefix.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.chalice_local import ChaliceLocal
from support.local_site import server_env
from support.memcached import MemcachedServer
from support.moto import AWS_ENV, MotoServer
from support.net import ServerUnavailable, started, unavailable

BUCKET = "textfiles-contract"
SIGNING_KEY = secrets.token_hex(16)
_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture
def prefix() -> str:
    """A key prefix no other test uses."""
    return f"contract/{uuid.uuid4().hex[:12]}/"


# --- blobs ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def blob_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data folder the folder driver and its `chalice local` share."""
    return tmp_path_factory.mktemp("contract-data")


@pytest.fixture(scope="session")
def blob_site(blob_folder: Path) -> Iterator[str]:
    """`chalice local` on that folder: the server behind the folder driver's links."""
    local = ChaliceLocal(server_env(blob_folder, {"LOCAL_SIGNING_KEY": SIGNING_KEY}))
    local.env["PORT"] = str(local.port)
    try:
        local.start()
    except ServerUnavailable as exc:
        unavailable("chalice local", str(exc))
    yield local.base
    local.stop()


@pytest.fixture(scope="session")
def contract_bucket(moto: MotoServer) -> str:
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto.endpoint, region_name="us-east-1", **_KEYS)
    s3.create_bucket(Bucket=BUCKET)
    return BUCKET


@pytest.fixture
def aws_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No setting of the developer's reaches a driver; AWS clients are built afresh."""
    from chalicelib.aws import clients

    for name in ("FILES_BUCKET", "MEMCACHED_SERVERS", "AWS_LAMBDA_FUNCTION_NAME", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LOCAL_SIGNING_KEY", SIGNING_KEY)
    clients.reset()
    yield
    clients.reset()


@pytest.fixture
def moto_knows_no_such_upload(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto answers a part or a completion of an unknown multipart upload with a 500
    (KeyError); S3 answers NoSuchUpload, and the driver's promise rests on that."""
    from moto.s3.exceptions import NoSuchUpload
    from moto.s3.models import S3Backend

    for name in ("upload_part", "complete_multipart_upload"):
        original = getattr(S3Backend, name)

        def checked(
            backend: Any, bucket: str, upload_id: str, *args: Any, _run: Any = original
        ) -> Any:
            if upload_id not in backend.get_bucket(bucket).multiparts:
                raise NoSuchUpload(upload_id=upload_id)
            return _run(backend, bucket, upload_id, *args)

        monkeypatch.setattr(S3Backend, name, checked)


@pytest.fixture(params=["localfs", "s3"])
def store(
    request: pytest.FixtureRequest,
    aws_settings: None,
    blob_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """A blob store of each driver (its port: chalicelib.blobs.BlobStore)."""
    if request.param == "localfs":
        from chalicelib.blobs.localfs import LocalBlobStore

        monkeypatch.setenv("DATA_DIR", str(blob_folder))
        return LocalBlobStore(blob_folder / "blobs")
    from chalicelib.blobs.s3 import S3BlobStore

    moto: MotoServer = request.getfixturevalue("moto")
    request.getfixturevalue("moto_knows_no_such_upload")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint)
    return S3BlobStore(request.getfixturevalue("contract_bucket"))


@pytest.fixture
def links(store: Any, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's presigned links answer: the folder driver's need its server running."""
    if store.name == "localfs":
        monkeypatch.setenv("PUBLIC_BASE_URL", request.getfixturevalue("blob_site"))


# --- cache ----------------------------------------------------------------------------


@pytest.fixture
def cache_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache's defaults, whatever the developer's environment holds."""
    for name in ("CACHE_TTL_SECONDS", "CACHE_RETRY_SECONDS", "MEMCACHED_TIMEOUT_SECONDS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(params=["memory", "memcached"])
def cache_port(request: pytest.FixtureRequest, cache_settings: None) -> Iterator[Any]:
    """The cache port (chalicelib.cache.Cache) over each driver."""
    from chalicelib.cache import Cache
    from chalicelib.cache.memcached import MemcachedDriver
    from chalicelib.cache.memory import MemoryDriver

    if request.param == "memory":
        yield Cache(MemoryDriver(), "memory")
        return
    server: MemcachedServer = request.getfixturevalue("memcached")
    driver = MemcachedDriver(server.servers)
    yield Cache(driver, "memcached")
    driver.close()


@pytest.fixture
def lone_memcached() -> Iterator[MemcachedServer]:
    """A memcached of this test's own, to kill and restart."""
    server = started(MemcachedServer(), "memcached")
    yield server
    server.stop()
