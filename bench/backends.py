"""The bench's throwaway backends, as in production: PostgreSQL over TLS only, memcached,
moto over HTTPS (tests/support/moto_https.py); and the tenant and file the measured requests
read."""

from __future__ import annotations

import contextlib
import io
import json
import os
import uuid
from dataclasses import dataclass
from typing import Any

from common import BUCKET, log, text
from events import Context, create_file_event, get_file_event

from support.memcached import MemcachedServer
from support.moto import AWS_ENV
from support.moto_https import HttpsMoto
from support.postgres import PostgresServer

LAMBDA_ENV = {
    **AWS_ENV,
    "AWS_LAMBDA_FUNCTION_NAME": "textfiles-bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    # The bench sends thousands of requests with one key: no 429 in the middle of it.
    "RATE_LIMIT_PER_WINDOW": "1000000000",
    "AUTH_FAILURES_PER_WINDOW": "1000000000",
    "LOG_LEVEL": "info",
}
# Settings of the caller's shell that must not leak into the measured processes.
CLEARED = (
    "DATABASE_URL",
    "DATABASE_SECRET_ARN",
    "MEMCACHED_SERVERS",
    "FILES_BUCKET",
    "QUEUE_URL",
    "AWS_ENDPOINT_URL",
    "AWS_CA_BUNDLE",
    "AWS_PROFILE",
    "DATA_DIR",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONPROFILEIMPORTTIME",
)


@dataclass
class Backends:
    postgres: PostgresServer
    memcached: MemcachedServer
    moto: HttpsMoto
    env: dict[str, str]

    def flush_cache(self) -> None:
        from pymemcache.client.base import Client

        client = Client(self.memcached.address, connect_timeout=2, timeout=2)
        try:
            client.flush_all(noreply=False)
        finally:
            client.close()

    def stop(self) -> None:
        for server in (self.moto, self.memcached, self.postgres):
            server.stop()


def start_backends() -> Backends:
    log("starting PostgreSQL (TLS only), memcached and moto (HTTPS)")
    postgres, memcached, moto = PostgresServer(tls_only=True), MemcachedServer(), HttpsMoto()
    postgres.start()
    memcached.start()
    moto.start()
    # As RDS: TLS required, the certificate not verified (the URL says sslmode=require).
    database_url = postgres.create_database("textfiles_bench")
    assert "sslmode=require" in database_url
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(LAMBDA_ENV)
    env.update(_aws_resources(moto, database_url))
    env.update(MEMCACHED_SERVERS=memcached.servers, FILES_BUCKET=BUCKET)
    return Backends(postgres, memcached, moto, env)


def _aws_resources(moto: HttpsMoto, database_url: str) -> dict[str, str]:
    """The bucket, the queue and the database secret in moto (read by ARN, as in Lambda)."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=LAMBDA_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LAMBDA_ENV["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    ca = str(moto.cert)
    session.client("s3", endpoint_url=moto.endpoint, verify=ca).create_bucket(Bucket=BUCKET)
    sqs = session.client("sqs", endpoint_url=moto.endpoint, verify=ca)
    queue_url = sqs.create_queue(QueueName="textfiles-bench-tasks")["QueueUrl"]
    secrets = session.client("secretsmanager", endpoint_url=moto.endpoint, verify=ca)
    secret_arn = secrets.create_secret(Name="textfiles-bench-db", SecretString=database_url)["ARN"]
    return {
        "DATABASE_SECRET_ARN": secret_arn,
        "QUEUE_URL": queue_url,
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_CA_BUNDLE": ca,  # moto's certificate, verified as AWS's would be
    }


def prepare(backends: Backends) -> dict[str, str]:
    """A tenant's key and one small file, made through the app itself (in this process)."""
    os.environ.update(backends.env)
    from app import app
    from chalicelib.tenants import apikeys

    key = apikeys.create_key(f"bench-{uuid.uuid4().hex[:8]}", "make bench")
    body = "A small plaintext file, as most of them are.\n" * 8
    with contextlib.redirect_stdout(io.StringIO()):  # the app's access log
        response = app(create_file_event(key, "bench.txt", body), Context())
        file_id = json.loads(text(response))["id"]
        check = app(get_file_event(key, file_id), Context())
    if response["statusCode"] != 201:
        raise RuntimeError(f"could not create the bench file: {response}")
    if check["statusCode"] != 200 or text(check) != body:
        raise RuntimeError(f"the bench file does not read back: {check}")
    return {"key": key, "file_id": file_id, "body": body}


def get_once(event: dict[str, Any]) -> None:
    """One GET through the app in this process (it fills the cache for a "hit" run)."""
    from app import app

    with contextlib.redirect_stdout(io.StringIO()):  # the app's access log
        response = app(event, Context())
    assert response["statusCode"] == 200, response
