"""IAM database authentication tokens for RDS Proxy, signed here (as botocore's
`generate_db_auth_token` does, without a client): a presigned `rds-db:connect` URL, used as
the password of a new connection. A token is good for 15 minutes and only to log in; each
connection gets a fresh one, so a cold start reads no database secret.
tests/backends/test_rds_token.py holds it equal to botocore's, character for character.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

from chalicelib import config
from chalicelib.aws.sigv4 import EMPTY_SHA256, signing_key

EXPIRES_S = 900
SERVICE = "rds-db"


def _q(value: str) -> str:
    return quote(value, safe="-_.~")


def auth_token(
    host: str,
    port: int,
    user: str,
    region: str,
    credentials: tuple[str, str, str | None],
    now_s: float | None = None,
) -> str:
    """`host:port/?Action=connect&DBUser=...&X-Amz-...&X-Amz-Signature=...`, signed with
    `credentials` (access key, secret key, session token or None) at `now_s` (default: now)."""
    access_key, secret_key, session_token = credentials
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now_s is None else now_s))
    scope = f"{amz_date[:8]}/{region}/{SERVICE}/aws4_request"
    params = {
        "Action": "connect",
        "DBUser": user,
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{access_key}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(EXPIRES_S),
        "X-Amz-SignedHeaders": "host",
    }
    if session_token:
        params["X-Amz-Security-Token"] = session_token
    pairs = [f"{_q(k)}={_q(v)}" for k, v in params.items()]  # the URL keeps this order
    query = "&".join(pairs)
    netloc = f"{host}:{port}"
    canonical = f"GET\n/\n{'&'.join(sorted(pairs))}\nhost:{netloc}\n\nhost\n{EMPTY_SHA256}"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = signing_key(secret_key, amz_date[:8], region, SERVICE)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{netloc}/?{query}&X-Amz-Signature={signature}"


def credentials() -> tuple[str, str, str | None]:
    """The function's credentials, as Lambda puts them in the environment."""
    access, secret = config.get("AWS_ACCESS_KEY_ID"), config.get("AWS_SECRET_ACCESS_KEY")
    if not (access and secret):
        raise config.MissingSetting("IAM database authentication needs AWS credentials")
    return access, secret, config.get("AWS_SESSION_TOKEN") or None
