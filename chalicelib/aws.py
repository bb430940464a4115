"""AWS clients, built on first use only, with botocore alone.

boto3 adds nothing the drivers use, and importing it (with s3transfer) and building a
boto3 Session cost tens of milliseconds of every cold start that touches AWS
(docs/bench.md). botocore honours the same settings, AWS_ENDPOINT_URL included.
"""

from __future__ import annotations

import functools
from typing import Any

from chalicelib import config


@functools.cache
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@functools.cache
def client(service: str) -> Any:
    from botocore.config import Config

    timeout = config.get_float("AWS_TIMEOUT_SECONDS", 3.0)
    settings = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"mode": "standard", "max_attempts": 3},
        signature_version="s3v4" if service == "s3" else None,
    )
    return _session().create_client(service, config=settings)


def reset() -> None:
    """Forget the clients and the session, so the next use reads the settings again."""
    client.cache_clear()
    _session.cache_clear()


def error_code(exc: Exception) -> str:
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
