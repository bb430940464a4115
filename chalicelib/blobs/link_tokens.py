"""Signed, expiring tokens for the local blob driver's upload and download links."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

from chalicelib import clock, config, ids


def _secret() -> bytes:
    configured = config.get("LOCAL_SIGNING_KEY")
    if configured:
        return configured.encode()
    if config.in_lambda():  # the task folder is read-only, and S3 signs its own links
        raise config.MissingSetting("local links are not signed inside Lambda")
    path = config.data_dir() / "signing.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip().encode()


def sign(payload: dict[str, Any], expires_s: int) -> str:
    body = dict(payload, exp=clock.now_us() // 1_000_000 + expires_s)
    raw = ids.b64url(json.dumps(body, separators=(",", ":")).encode())
    mac = hmac.new(_secret(), raw.encode(), hashlib.sha256).digest()
    return f"{raw}.{ids.b64url(mac)}"


def verify(token: str) -> dict[str, Any] | None:
    """The payload of a valid, unexpired token; None otherwise."""
    raw, _, mac = token.partition(".")
    try:
        expected = hmac.new(_secret(), raw.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, ids.unb64url(mac)):
            return None
        payload: dict[str, Any] = json.loads(ids.unb64url(raw))
    except (ValueError, TypeError):
        return None
    if payload.get("exp", 0) < clock.now_us() // 1_000_000:
        return None
    return payload
