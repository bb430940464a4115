"""Every environment variable the app reads, with its default and what it means.

chalicelib/config.py reads them on use; the settings table of docs/backends.md lists them; a
test checks that no module reads a variable declared nowhere here.
"""

from __future__ import annotations


class Setting:
    """One setting: its default (when unset or empty), its meaning, its group."""

    __slots__ = ("default", "group", "meaning")

    def __init__(self, default: str | int | float, meaning: str, group: str) -> None:
        self.default, self.meaning, self.group = default, meaning, group


_Rows = dict[str, tuple[str | int | float, str]]
_MIB = 1024 * 1024

# Where the app runs, which drivers it uses and where they keep data.
_BACKEND: _Rows = {
    "AWS_LAMBDA_FUNCTION_NAME": ("", "set by Lambda: a missing backend setting is an error"),
    "DATABASE_URL": ("", "PostgreSQL URL (pg8000); unset: SQLite in DATA_DIR"),
    "DATABASE_SECRET_ARN": ("", "Lambda: the secret holding the database's credentials"),
    "DATABASE_SSLMODE": (
        "require",
        "TLS mode for a database given by an RDS secret; behind RDS Proxy at least `require`",
    ),
    "APP_DATABASE_URL": ("", "the application role's login, set by `admin migrate`"),
    "DATABASE_PROXY_ENDPOINT": (
        "",
        "RDS Proxy `host[:port]`: log in with IAM tokens over TLS, no secret",
    ),
    "DATABASE_IAM_USER": ("textfiles_app", "the database user of the IAM tokens (RDS Proxy)"),
    "DATABASE_NAME": ("textfiles", "the database behind RDS Proxy"),
    "APP_DATABASE_SECRET_ARN": ("", "Lambda: the secret holding the application role's login"),
    "MEMCACHED_SERVERS": ("", "memcached `host:port` (one server); unset: in-process cache"),
    "FILES_BUCKET": ("", "the S3 bucket of file bodies; unset: files under DATA_DIR/blobs"),
    "QUEUE_URL": ("", "the SQS task queue; unset: the in-process queue"),
    "DATA_DIR": (".data", "where the embedded drivers keep their data"),
    "PUBLIC_BASE_URL": ("", "base of the local links to the folder driver (default: this server)"),
    "AWS_ENDPOINT_URL": ("", "sends every AWS call elsewhere (e.g. moto's server)"),
}

# The app's own behaviour.
_APP: _Rows = {
    "STAGE": ("local", "the deployed stage's name (dev, prod)"),
    "PORT": ("8000", "the local server's port (the default of the local links)"),
    "LOCAL_SIGNING_KEY": ("", "signs local links (default: a key kept in DATA_DIR)"),
    "LOG_LEVEL": ("info", "lowest level logged: debug, info, warning, error"),
    "RETENTION_DAYS": (30, "a file lives this long after its last write"),
    "MAX_VERSIONS_PER_FILE": (100, "versions kept per file; the oldest beyond go first"),
    "DIFF_MAX_BYTES": (1 * _MIB, "largest version a diff reads (per side); larger: 413"),
    "SEARCH_INDEX_BYTES": (256 * 1024, "how much of a body the full-text search indexes"),
    "RETRY_AFTER_SECONDS": (5, "the Retry-After of a 503"),
    "UPLOAD_URL_SECONDS": (900, "lifetime of an upload link"),
    "READ_URL_SECONDS": (300, "lifetime of the link a GET of a large body redirects to"),
    "CORS_ALLOWED_ORIGINS": ("", "origins whose browser apps may call the API (`,`; `*` any)"),
}

# AWS: the variables botocore reads, honoured by the botocore-free read path too.
_AWS: _Rows = {
    "AWS_ENDPOINT_URL_S3": ("", "sends S3 calls elsewhere"),
    "AWS_ENDPOINT_URL_SECRETS_MANAGER": ("", "sends Secrets Manager calls elsewhere"),
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": ("", "`true`: ignore the endpoint settings"),
    "AWS_REGION": ("", "the region Lambda runs in (set by Lambda)"),
    "AWS_DEFAULT_REGION": ("", "the region of AWS calls"),
    "AWS_ACCESS_KEY_ID": ("", "credentials, as Lambda puts them in the environment"),
    "AWS_SECRET_ACCESS_KEY": ("", "credentials, as Lambda puts them in the environment"),
    "AWS_SESSION_TOKEN": ("", "credentials, as Lambda puts them in the environment"),
    "AWS_CA_BUNDLE": ("", "certificate authorities trusted for AWS calls"),
    "AWS_USE_FIPS_ENDPOINT": ("", "`true`: FIPS endpoints (left to botocore)"),
    "AWS_USE_DUALSTACK_ENDPOINT": ("", "`true`: dual-stack endpoints (left to botocore)"),
    "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT": ("", "`regional`: S3's regional endpoint in us-east-1"),
    "AWS_TIMEOUT_SECONDS": (3.0, "connect and read timeout of an AWS call"),
    "SECRETS_TTL_SECONDS": (300.0, "how long a secret read from Secrets Manager is reused"),
}

# Sizes and spend guards.
_LIMIT: _Rows = {
    "MAX_INLINE_BYTES": (4 * _MIB, "largest body sent or answered inline (capped by Lambda's)"),
    "MAX_UPLOAD_BYTES": (100 * _MIB, "largest body of a presigned upload"),
    "CACHE_BODY_MAX_BYTES": (64 * 1024, "larger bodies are not cached"),
    "RATE_LIMIT_PER_WINDOW": (600, "requests a tenant may make per window"),
    "RATE_LIMIT_WINDOW_SECONDS": (60, "the rate limit's fixed window"),
    "AUTH_FAILURES_PER_WINDOW": (20, "failed keys an address may send per window"),
    "HEALTH_PER_WINDOW": (60, "GET /health calls an address may make per window"),
    "QUOTA_MAX_FILES": (10_000, "files a tenant may keep"),
    "QUOTA_MAX_BYTES": (1024**3, "bytes a tenant may keep"),
    "QUOTA_MAX_RUNNING_TASKS": (2, "tasks a tenant may have running"),
    "QUOTA_MAX_EXPORTS": (10, "exports a tenant may keep (within EXPORT_RETENTION_DAYS)"),
}

# The cache.
_CACHE: _Rows = {
    "CACHE_TTL_SECONDS": (300, "lifetime of a cached entry"),
    "CACHE_RETRY_SECONDS": (2.0, "a failed cache is bypassed this long before it is tried again"),
    "CACHE_CHECK_SECONDS": (2.0, "how long a check that the cache holds no stale entry is trusted"),
    "MEMCACHED_TIMEOUT_SECONDS": (0.25, "connect and read timeout of a memcached call"),
    "KEY_CACHE_SECONDS": (2, "a key's cached lookup: how long a revoked key may still work"),
    "HEALTH_CACHE_SECONDS": (5.0, "how long a healthy GET /health answer is reused"),
}

# The database and the body collector.
_DB: _Rows = {
    "DB_CONNECT_TIMEOUT_SECONDS": (5.0, "how long opening a database connection may take"),
    "DB_STATEMENT_TIMEOUT_SECONDS": (10.0, "how long one statement may run"),
    "GARBAGE_GRACE_SECONDS": (3600, "a replaced or deleted body is kept this long for its readers"),
    "GARBAGE_BATCH": (5, "bodies a write request collects after itself"),
}

# Background tasks (docs/tasks.md).
_TASK: _Rows = {
    "TASK_MAX_ATTEMPTS": (3, "failed attempts in a row after which a task fails"),
    "TASK_BACKOFF_BASE_SECONDS": (10.0, "wait before a failed task's second attempt (doubling)"),
    "TASK_BACKOFF_MAX_SECONDS": (900.0, "longest wait between a task's attempts"),
    "TASK_SAFETY_FACTOR": (3.0, "hand off when time left < this x the longest step + margin"),
    "TASK_MARGIN_MS": (10_000, "time kept in hand when deciding to hand a task off"),
    "TASK_RELAY_AFTER_SECONDS": (60, "task messages unsent this long are sent again"),
    "TASK_RETENTION_DAYS": (30, "finished task rows older than this are purged"),
    "INLINE_TASK_BUDGET_MS": (60_000, "the in-process queue's stand-in for Lambda's time limit"),
    "INLINE_MAX_RECEIVES": (5, "the in-process queue's receives before a dead letter"),
    "WORKER_BUDGET_SECONDS": (900, "`make worker`: the time limit each task message gets"),
    "EXPORT_BATCH_FILES": (100, "files an export step bundles"),
    "EXPORT_BATCH_BYTES": (16 * _MIB, "bytes an export step bundles"),
    "EXPORT_PART_BYTES": (8 * _MIB, "target size of an archive part (S3 needs 5 MiB)"),
    "EXPORT_URL_SECONDS": (3600, "lifetime of an export's download link"),
    "EXPORT_RETENTION_DAYS": (
        7,
        "an archive is kept this long after its export succeeded",
    ),
    "EXPORT_FETCH_THREADS": (8, "bodies an export fetches at once"),
    "PURGE_BATCH": (500, "rows the purge task handles per step"),
    "PURGE_ORPHAN_GRACE_SECONDS": (86_400, "a body without a row is removed once this old"),
}

# The daily health check.
_HEALTHCHECK: _Rows = {
    "HEALTHCHECK_BASE_URL": ("", "the deployed API the health check calls (HTTPS in Lambda)"),
    "HEALTHCHECK_TIMEOUT_SECONDS": (10.0, "timeout of each health-check call"),
    "HEALTHCHECK_API_KEY": ("", "the health check's API key (locally)"),
    "HEALTHCHECK_API_KEY_SECRET_ARN": ("", "Lambda: the secret holding the health check's key"),
    "ALERT_URL": ("", "the alert service notified on failure (unset locally: log only)"),
    "ALERT_API_KEY": ("", "the alert service's client key (locally)"),
    "ALERT_API_KEY_SECRET_ARN": ("", "Lambda: the secret holding the alert service's key"),
}
GROUPS: dict[str, _Rows] = {
    "backend": _BACKEND,
    "app": _APP,
    "aws": _AWS,
    "limit": _LIMIT,
    "cache": _CACHE,
    "db": _DB,
    "task": _TASK,
    "healthcheck": _HEALTHCHECK,
}
SETTINGS: dict[str, Setting] = {
    name: Setting(default, meaning, group)
    for group, rows in GROUPS.items()
    for name, (default, meaning) in rows.items()
}
