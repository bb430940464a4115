"""The Secrets Manager driver: values fetched on first use, kept in memory for a TTL."""

from __future__ import annotations

import threading
import time

from chalicelib import logs
from chalicelib.aws import clients
from chalicelib.errors import BackendUnavailable


class SecretsManagerStore:
    name = "secretsmanager"

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.fetches = 0
        self._cached: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, ref: str, *, fresh: bool = False) -> str:
        with self._lock:
            hit = self._cached.get(ref)
            if hit and not fresh and time.monotonic() - hit[1] < self.ttl_s:
                return hit[0]
            secret = self._fetch(ref)
            self._cached[ref] = (secret, time.monotonic())
            return secret

    def _fetch(self, ref: str) -> str:
        self.fetches += 1
        try:
            # Signed without botocore where the environment allows (chalicelib.aws.clients).
            reader = clients.client("secretsmanager", signed=True)
            response = reader.get_secret_value(SecretId=ref)
        except (*clients.service_errors(), *clients.transport_errors()) as exc:
            code = clients.error_code(exc) or type(exc).__name__
            logs.error("secret unavailable", error=code)  # never the ARN's value, only the code
            raise BackendUnavailable("secret store", code) from exc
        return str(response.get("SecretString") or "")
