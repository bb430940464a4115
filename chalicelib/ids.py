"""Random 128-bit ids as 32 hex characters (os.urandom: `import uuid` costs cold-start time)."""

from __future__ import annotations

import os
import re

_ID = re.compile(r"[0-9a-f]{32}")


def new_id() -> str:
    return os.urandom(16).hex()


def is_id(value: object) -> bool:
    """Whether `value` can be one of our ids; anything else names nothing (and never reaches
    the database, which refuses some characters, NUL among them)."""
    return isinstance(value, str) and len(value) == 32 and _ID.fullmatch(value) is not None


def require(value: str, what: str) -> str:
    """The id from a path: one that cannot be an id names nothing, a 404."""
    if not is_id(value):
        from chalicelib.errors import NotFound

        raise NotFound(f"No {what} {value}.")
    return value


def b64url(data: bytes) -> str:
    """URL-safe base64 without padding (cursors, signed tokens)."""
    import base64

    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    """The inverse of b64url; raises ValueError (binascii.Error) on a malformed string."""
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
