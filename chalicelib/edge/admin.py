"""The admin command line: `python -m chalicelib.edge.admin key TENANT` and friends (the deployed
`admin` function runs its REMOTE_COMMANDS). Running the app's own functions on a laptop
(schedules, the SQS worker) is `tools/local_triggers.py`."""

from __future__ import annotations

import argparse
import io
import json
import sys
from contextlib import redirect_stderr
from typing import Any, TextIO

from chalicelib import secrets
from chalicelib.db import database, postgres_settings
from chalicelib.db.migrations import APP_ROLE, migrate
from chalicelib.errors import DomainError
from chalicelib.tenants import apikeys


def _key(args: argparse.Namespace) -> None:
    key = apikeys.create_key(args.tenant, args.label)
    print(
        f"New API key for tenant {args.tenant!r} (shown once, stored only as a hash):",
        file=args.out,
    )
    print(key, file=args.out)


def _revoke(args: argparse.Namespace) -> None:
    print("revoked" if apikeys.revoke_key(args.key) else "no such active key", file=args.out)


def _limits(args: argparse.Namespace) -> None:
    changes = {
        name: (None if value == "default" else int(value))
        for name, value in (
            ("rate_limit", args.rate),
            ("max_files", args.files),
            ("max_bytes", args.bytes),
            ("max_running_tasks", args.tasks),
        )
        if value is not None
    }
    apikeys.set_limits(args.tenant, **changes)
    print(f"limits of {args.tenant!r} updated: {changes or 'nothing to change'}", file=args.out)


HEALTHCHECK_TENANT = "healthcheck"
# What the deployed admin function runs; the rest only makes sense on a laptop.
REMOTE_COMMANDS = ("key", "revoke", "limits", "migrate", "health-key")


def _health_key(args: argparse.Namespace) -> None:
    """A new key for the daily health check, stored in its secret; the previous one revoked."""
    from chalicelib import config

    key = apikeys.create_key(HEALTHCHECK_TENANT, "daily health check")
    arn = config.get(secrets.HEALTHCHECK_API_KEY.arn_setting)
    if not arn:
        print(f"health-check key (set HEALTHCHECK_API_KEY to it): {key}", file=args.out)
        return
    from chalicelib.aws import clients

    previous = secrets.value(secrets.HEALTHCHECK_API_KEY, fresh=True)
    clients.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=key)
    revoked = previous != key and apikeys.revoke_key(previous)
    print(
        "health-check key stored in its secret" + (", previous key revoked" if revoked else ""),
        file=args.out,
    )


def handle(event: dict[str, Any]) -> dict[str, Any]:
    """The admin function: one command of this CLI; its output goes back to the invoker only."""
    argv = [str(arg) for arg in event.get("args") or []]
    if not argv or argv[0] not in REMOTE_COMMANDS:
        return {"status": 2, "output": f"error: commands: {', '.join(REMOTE_COMMANDS)}\n"}
    out = io.StringIO()
    with redirect_stderr(out):  # argparse's usage and errors; log lines stay on stdout
        try:
            status = main(argv, out)
        except SystemExit as exc:  # argparse: bad arguments, usage printed
            status = exc.code if isinstance(exc.code, int) else 2
    return {"status": status, "output": out.getvalue()}


# The application role's credentials, set as its login by `migrate` (run as the owner).
APP_DATABASE = secrets.Secret("APP_DATABASE_SECRET_ARN", "APP_DATABASE_URL")


def _migrate(args: argparse.Namespace) -> None:
    db = database()
    print(f"schema version {migrate(db)}", file=args.out)
    raw = secrets.value(APP_DATABASE, fresh=True)
    if db.dialect != "postgresql" or not raw:
        print("no application role secret: the functions log in as the owner", file=args.out)
        return
    url = raw if "://" in raw else secrets.rds_url(json.loads(raw))
    settings = postgres_settings(url)
    if settings.user != APP_ROLE:
        raise DomainError(f"the application secret's user must be {APP_ROLE!r}")
    from chalicelib.db import roles

    roles.set_login(db, APP_ROLE, settings.password)
    print(f"role {APP_ROLE}: login set from the application secret", file=args.out)


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="textfiles-admin")
    sub = parser.add_subparsers(dest="command", required=True)
    key = sub.add_parser("key", help="create an API key for a tenant")
    key.add_argument("tenant")
    key.add_argument("--label", default="")
    key.set_defaults(run=_key)
    revoke = sub.add_parser("revoke", help="revoke an API key")
    revoke.add_argument("key")
    revoke.set_defaults(run=_revoke)
    sub.add_parser("migrate", help="apply pending schema migrations").set_defaults(run=_migrate)
    sub.add_parser(
        "health-key", help="a new key for the daily health check, stored in its secret"
    ).set_defaults(run=_health_key)
    lim = sub.add_parser("limits", help="set a tenant's overrides (a number, or 'default')")
    lim.add_argument("tenant")
    for flag, what in (
        ("--rate", "requests per rate-limit window"),
        ("--files", "files stored"),
        ("--bytes", "bytes stored"),
        ("--tasks", "running tasks"),
    ):
        lim.add_argument(flag, help=what)
    lim.set_defaults(run=_limits)
    args = parser.parse_args(argv)
    args.out = out or sys.stdout
    try:
        args.run(args)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr if out is None else out)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
