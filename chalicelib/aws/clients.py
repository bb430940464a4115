"""AWS clients, built on first use only: botocore, or signed requests for the cold path.

boto3 adds nothing the drivers use, and importing it (with s3transfer) and building a
boto3 Session cost tens of milliseconds of every cold start that touches AWS
(docs/bench.md). botocore honours the same settings, AWS_ENDPOINT_URL included.

``client(service, signed=True)`` answers S3 GetObject, PutObject and DeleteObject and
Secrets Manager GetSecretValue without botocore (chalicelib.aws.https) when the environment
holds what botocore would use in Lambda: a region of the aws, aws-cn or aws-us-gov
partition and credentials in the environment. Otherwise, and for every other call, it is
a botocore client.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

from chalicelib import config

# The endpoint variable botocore reads for each service (AWS_ENDPOINT_URL_<SERVICE ID>).
_ENDPOINT_SETTING = {
    "s3": "AWS_ENDPOINT_URL_S3",
    "secretsmanager": "AWS_ENDPOINT_URL_SECRETS_MANAGER",
}
_HOST = {"s3": "s3.{region}.{suffix}", "secretsmanager": "secretsmanager.{region}.{suffix}"}


@functools.cache
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


def _timeout() -> float:
    return config.get_float("AWS_TIMEOUT_SECONDS")


@functools.cache
def _botocore_client(service: str) -> Any:
    from botocore.config import Config

    timeout = _timeout()
    settings = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"mode": "standard", "max_attempts": 3},
        signature_version="s3v4" if service == "s3" else None,
    )
    return _session().create_client(service, config=settings)


@functools.cache
def client(service: str, *, signed: bool = False) -> Any:
    """A client for ``service``; ``signed`` asks for the botocore-free client of the cold path."""
    if signed and service in _HOST:
        reader = _signed_client(service)
        if reader is not None:
            return reader
    return _botocore_client(service)


def _true(name: str) -> bool:
    return config.get(name).lower() == "true"


def _signed_client(service: str) -> Any:
    """The signed client, or None where botocore must decide (profiles, FIPS, other partitions)."""
    from chalicelib.aws import sigv4

    region = config.get("AWS_DEFAULT_REGION")  # botocore reads this one, not AWS_REGION
    if not (region and _credentials()[0]) or _true("AWS_USE_FIPS_ENDPOINT"):
        return None
    if _true("AWS_USE_DUALSTACK_ENDPOINT"):
        return None
    endpoint = ""
    if not _true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        endpoint = config.get(_ENDPOINT_SETTING[service]) or config.get("AWS_ENDPOINT_URL")
    if not endpoint:
        try:
            suffix = sigv4.dns_suffix(region)
        except sigv4.UnsupportedPartition:
            return None
        endpoint = "https://" + _HOST[service].format(region=region, suffix=suffix)
        if service == "s3" and region == "us-east-1" and not _regional_us_east_1():
            endpoint = "https://s3.amazonaws.com"  # botocore's default: the global endpoint
    from chalicelib.aws.https import SignedClient

    return SignedClient(
        service, region, endpoint, _credentials,
        timeout=_timeout(), ca_bundle=config.get("AWS_CA_BUNDLE"),
    )  # fmt: skip


def _regional_us_east_1() -> bool:
    return config.get("AWS_S3_US_EAST_1_REGIONAL_ENDPOINT").lower() == "regional"


def _credentials() -> tuple[str, str, str | None]:
    """The function's credentials, as Lambda puts them in the environment."""
    access, secret = config.get("AWS_ACCESS_KEY_ID"), config.get("AWS_SECRET_ACCESS_KEY")
    if not (access and secret):
        return "", "", None
    return access, secret, config.get("AWS_SESSION_TOKEN") or None


def reset() -> None:
    """Forget the clients and the session, so the next use reads the settings again."""
    from chalicelib.aws import https

    client.cache_clear()
    _botocore_client.cache_clear()
    _session.cache_clear()
    https._ssl_context.cache_clear()  # the certificates are read again too


def error_code(exc: Exception) -> str:
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def service_errors() -> tuple[type[Exception], ...]:
    """The error replies of both kinds of client (botocore's only when it is loaded)."""
    from chalicelib.aws.https import ServiceError

    found: list[type[Exception]] = [ServiceError]
    if "botocore.exceptions" in sys.modules:
        found.append(sys.modules["botocore.exceptions"].ClientError)
    return tuple(found)


def transport_errors() -> tuple[type[Exception], ...]:
    """Calls that got no usable reply, from either kind of client."""
    from chalicelib.aws.https import TransportError

    found: list[type[Exception]] = [TransportError]
    if "botocore.exceptions" in sys.modules:
        found.append(sys.modules["botocore.exceptions"].BotoCoreError)
    return tuple(found)
