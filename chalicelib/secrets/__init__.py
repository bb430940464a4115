"""The secrets port: credentials read at runtime, from Secrets Manager or the environment.

Inside Lambda the environment holds only a secret's ARN (``*_SECRET_ARN``); the value is
fetched from Secrets Manager on first use and kept in memory for a while. Locally a plain
variable stands in for it (``DATABASE_URL``, ``ALERT_API_KEY``...).
"""

from __future__ import annotations

import functools
import json
from typing import NamedTuple, Protocol
from urllib.parse import quote

from chalicelib import config
from chalicelib.config import MissingSetting


class Secret(NamedTuple):
    """A credential: the setting naming its ARN, and the local variable standing in for it."""

    arn_setting: str
    local_setting: str


DATABASE = Secret("DATABASE_SECRET_ARN", "DATABASE_URL")
ALERT_API_KEY = Secret("ALERT_API_KEY_SECRET_ARN", "ALERT_API_KEY")
HEALTHCHECK_API_KEY = Secret("HEALTHCHECK_API_KEY_SECRET_ARN", "HEALTHCHECK_API_KEY")


class SecretStore(Protocol):
    name: str

    def get(self, ref: str, *, fresh: bool = False) -> str:
        """The secret's value; ``fresh`` skips any cached copy (after an auth failure)."""
        ...


@functools.cache
def store(remote: bool) -> SecretStore:
    """Secrets Manager for a secret given by ARN, the environment for a local stand-in."""
    if remote:
        from chalicelib.secrets.secretsmanager import SecretsManagerStore

        return SecretsManagerStore(ttl_s=config.secrets_ttl_seconds())
    from chalicelib.secrets.env import EnvSecretStore

    return EnvSecretStore()


def value(secret: Secret, *, fresh: bool = False) -> str:
    """The secret's value, or '' when it is not configured (outside Lambda only)."""
    arn = config.get(secret.arn_setting)
    if arn:
        return store(True).get(arn, fresh=fresh)
    if config.in_lambda():
        raise MissingSetting(f"{secret.arn_setting} is not set; Lambda reads secrets by ARN")
    return store(False).get(secret.local_setting, fresh=fresh)


def load_reader(secret: Secret) -> bool:
    """Load the modules that read ``secret`` from Secrets Manager, before the read; False if
    it is read locally. A caller that overlaps other imports with the read calls this first,
    so the two threads never import the same module at once."""
    if not config.get(secret.arn_setting):
        return False
    from chalicelib.aws import clients

    clients.client("secretsmanager", signed=True)
    return True


def database_url(*, fresh: bool = False) -> str:
    """The database as a URL: DATABASE_URL locally, the RDS-style JSON secret in AWS."""
    raw = value(DATABASE, fresh=fresh)
    if not raw or "://" in raw:
        return raw
    return rds_url(json.loads(raw))


def rds_url(secret: dict[str, object]) -> str:
    """`postgresql://` URL from an RDS secret {username, password, host, port, dbname}."""
    user = quote(str(secret["username"]), safe="")
    password = quote(str(secret["password"]), safe="")
    host, port = secret["host"], secret.get("port") or 5432
    dbname = quote(str(secret.get("dbname") or "postgres"), safe="")
    sslmode = quote(str(secret.get("sslmode") or config.database_sslmode()), safe="")
    return f"postgresql://{user}:{password}@{host}:{port}/{dbname}?sslmode={sslmode}"
