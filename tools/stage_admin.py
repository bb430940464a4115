"""Run an admin command in a deployed stage: `python -m tools.stage_admin --stage prod key
acme`. The stage's admin function (`textfiles-STAGE-admin`, never routed) runs it next to
the database; the caller needs only `lambda:InvokeFunction` on that function."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

APP_NAME = "textfiles"


def function_name(stage: str) -> str:
    return f"{APP_NAME}-{stage}-admin"


def _client(endpoint_url: str | None, region: str | None) -> Any:
    import botocore.session
    from botocore.config import Config

    # One attempt: a retried invoke could create a second key. Migrations may take minutes.
    settings = Config(read_timeout=900, connect_timeout=10, retries={"total_max_attempts": 1})
    session = botocore.session.get_session()
    return session.create_client(
        "lambda", endpoint_url=endpoint_url, region_name=region, config=settings
    )


def invoke(
    stage: str, args: list[str], endpoint_url: str | None = None, region: str | None = None
) -> tuple[int, str]:
    """The command's exit status and output, as the admin function returned them."""
    response = _client(endpoint_url, region).invoke(
        FunctionName=function_name(stage), Payload=json.dumps({"args": args}).encode()
    )
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError") or not isinstance(payload, dict) or "status" not in payload:
        return 1, f"the admin function failed: {json.dumps(payload)}\n"
    return int(payload["status"]), str(payload["output"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="textfiles-operator",
        description="Run an admin command (key, revoke, limits, migrate, health-key) in a stage.",
    )
    parser.add_argument("--stage", required=True)
    parser.add_argument("--endpoint-url", help="Lambda endpoint (default: AWS's)")
    parser.add_argument("--region", help="default: the AWS configuration's")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if not args.command:
        parser.error("an admin command is required, e.g. key acme")
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        status, output = invoke(args.stage, args.command, args.endpoint_url, args.region)
    except (BotoCoreError, ClientError) as exc:
        print(f"error: cannot invoke {function_name(args.stage)}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(output)
    return status


if __name__ == "__main__":
    sys.exit(main())
