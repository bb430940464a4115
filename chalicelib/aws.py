"""boto3 clients, built on first use only (boto3 is heavy: never import it at module level)."""

from __future__ import annotations

import functools
from typing import Any

from chalicelib import config


@functools.cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    timeout = config.get_float("AWS_TIMEOUT_SECONDS", 3.0)
    settings = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"mode": "standard", "max_attempts": 3},
        signature_version="s3v4" if service == "s3" else None,
    )
    return boto3.session.Session().client(service, config=settings)


def error_code(exc: Exception) -> str:
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def is_client_fault(exc: Exception) -> bool:
    """True for a 4xx answer from AWS (a request problem), False for outages."""
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 400 <= status < 500
