"""Write a stage's Terraform backend settings (boto3, from .venv).

    python infra/terraform/backend.py --stage prod --dir build/prod/terraform [--bucket B]

DIR/backend.hcl puts the stage's state at textfiles/STAGE/terraform.tfstate in the
bootstrap's bucket (textfiles-tfstate-ACCOUNT-REGION unless --bucket or TF_STATE_BUCKET
says otherwise), encrypted and locked with an S3 lockfile. With AWS_ENDPOINT_URL set (the
tests' moto server) the backend goes there too, path-style.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

STATE_KEY = "textfiles/{stage}/terraform.tfstate"


class BackendError(RuntimeError):
    """The backend cannot be named (no region)."""


def state_bucket() -> str:
    """The bootstrap's bucket: textfiles-tfstate-ACCOUNT-REGION."""
    import boto3

    session = boto3.session.Session()
    account = session.client("sts").get_caller_identity()["Account"]
    return f"textfiles-tfstate-{account}-{session.region_name}"


def settings(stage: str, bucket: str | None = None) -> dict[str, Any]:
    """One state per stage, S3 lockfile, encrypted; moto's endpoint when one is set."""
    import boto3

    region = boto3.session.Session().region_name
    if not region:
        raise BackendError("no AWS region: set AWS_REGION (the stage's region)")
    result: dict[str, Any] = {
        "bucket": bucket or state_bucket(),
        "key": STATE_KEY.format(stage=stage),
        "region": region,
        "encrypt": True,
        "use_lockfile": True,
    }
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:  # moto: its S3 answers path-style only
        result |= {"endpoints": {"s3": endpoint, "sts": endpoint}, "use_path_style": True}
    return result


def hcl(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {hcl(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def write(stage: str, directory: Path, bucket: str | None = None) -> Path:
    path = directory / "backend.hcl"
    path.write_text("".join(f"{k} = {hcl(v)}\n" for k, v in settings(stage, bucket).items()))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="infra/terraform/backend.py")
    parser.add_argument("--stage", required=True)
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--bucket", default=os.environ.get("TF_STATE_BUCKET") or None)
    args = parser.parse_args(argv)
    try:
        print(write(args.stage, args.dir, args.bucket))
    except BackendError as exc:
        print(f"infra/terraform/backend.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
