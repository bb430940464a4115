"""Random 128-bit ids as 32 hex characters (os.urandom: `import uuid` costs cold-start time)."""

from __future__ import annotations

import os


def new_id() -> str:
    return os.urandom(16).hex()
