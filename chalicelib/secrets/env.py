"""The environment driver: a local variable stands in for a secret (development, tests)."""

from __future__ import annotations

from chalicelib import config


class EnvSecretStore:
    name = "env"

    def get(self, ref: str, *, fresh: bool = False) -> str:
        return config.get(ref)
