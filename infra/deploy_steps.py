"""The AWS steps of `make deploy` after the infra stack (boto3 and Chalice, from .venv).

    python infra/deploy_steps.py preflight --stage prod --project build/prod/project
    python infra/deploy_steps.py chalice-deploy --stage prod --outputs OUT.json --project DIR
    python infra/deploy_steps.py finish --stage prod --outputs OUT.json --project DIR

- `preflight` stops before anything is created when the account's Lambda concurrency
  quota cannot hold the stage's reservations (Lambda keeps 100 unreserved).
- `chalice-deploy` runs `chalice deploy` with its state kept in the stage's deploy bucket,
  and saves the state also when the deploy fails half-way, so a re-run converges.
- `finish` sets what Chalice cannot: stage throttling, metrics and X-Ray, the SQS event
  source's maximum concurrency, the default `execute-api` endpoint off when a custom
  domain serves the API, each function's log group (named after it, 7 days), and the
  health check's base URL when the stage has no custom domain.

boto3 and botocore honour AWS_ENDPOINT_URL, which is how the tests point them at moto.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gateway_responses  # noqa: E402  (infra/gateway_responses.py)
import stage as stage_mod  # noqa: E402  (infra/stage.py, standard library only)

UNRESERVED_MINIMUM = 100
RETENTION_DAYS = 7
STATE_KEY = "chalice/deployed/{stage}.json"


class DeployError(RuntimeError):
    """A step cannot go on; the message says why and what to do."""


def _config(project: Path, stage: str) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((project / ".chalice" / "config.json").read_text())
    return dict(config["stages"][stage])


def reservations(project: Path, stage: str) -> dict[str, int]:
    """Each function's reserved concurrency in the rendered project: name -> amount."""
    app = json.loads((project / ".chalice" / "config.json").read_text())["app_name"]
    functions = _config(project, stage).get("lambda_functions", {})
    return {
        stage_mod.function_name(app, stage, name): int(settings["reserved_concurrency"])
        for name, settings in functions.items()
        if settings.get("reserved_concurrency")
    }


def preflight(project: Path, stage: str) -> None:
    """Raise DeployError unless the account can reserve what the stage asks for."""
    client = boto3.client("lambda")
    limit = client.get_account_settings()["AccountLimit"]
    wanted = reservations(project, stage)
    ours = 0
    for name in wanted:
        try:
            ours += client.get_function_concurrency(FunctionName=name).get(
                "ReservedConcurrentExecutions", 0
            )
        except ClientError:
            continue  # not deployed yet
    left = limit["UnreservedConcurrentExecutions"] + ours - sum(wanted.values())
    if left < UNRESERVED_MINIMUM:
        need = limit["ConcurrentExecutions"] - left + UNRESERVED_MINIMUM
        detail = ", ".join(f"{n} {c}" for n, c in wanted.items())
        raise DeployError(
            f"Lambda concurrency quota too small for stage {stage}: the account allows "
            f"{limit['ConcurrentExecutions']} concurrent executions, "
            f"{limit['UnreservedConcurrentExecutions']} unreserved now; the stage reserves "
            f"{sum(wanted.values())} ({detail}) and Lambda keeps {UNRESERVED_MINIMUM} "
            f"unreserved, so the account needs at least {need}. Fix: request a quota of "
            f"{need} or more (Service Quotas > AWS Lambda > Concurrent executions, "
            f"L-B99A9384), or lower reserved_concurrency of stage {stage} in "
            ".chalice/config.json."
        )


def _state_path(project: Path, stage: str) -> Path:
    return project / ".chalice" / "deployed" / f"{stage}.json"


def fetch_state(bucket: str, project: Path, stage: str) -> dict[str, Any]:
    """Download the stage's Chalice state; an empty state on the first deploy."""
    path = _state_path(project, stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        body = boto3.client("s3").get_object(Bucket=bucket, Key=STATE_KEY.format(stage=stage))
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in {"NoSuchKey", "404"}:
            raise
        print(f"no deployment state yet: first deploy of {stage}")
        path.unlink(missing_ok=True)
        return {}
    path.write_bytes(body["Body"].read())
    return dict(json.loads(path.read_text()))


def save_state(bucket: str, project: Path, stage: str) -> None:
    path = _state_path(project, stage)
    if path.exists():
        boto3.client("s3").put_object(
            Bucket=bucket, Key=STATE_KEY.format(stage=stage), Body=path.read_bytes()
        )


def merged_state(before: dict[str, Any], recorded: list[dict[str, Any]]) -> dict[str, Any]:
    """The state after a failed run: what it recorded, plus what it had not reached yet."""
    names = {resource["name"] for resource in recorded}
    kept = [r for r in before.get("resources", []) if r["name"] not in names]
    return {"resources": kept + recorded, "schema_version": "2.0", "backend": "api"}


def chalice_deploy(project: Path, stage: str) -> dict[str, Any]:
    """`chalice deploy --stage STAGE` in PROJECT; records the partial state on failure."""
    from chalice.cli.factory import CLIFactory
    from chalice.utils import UI

    before = json.loads(p.read_text()) if (p := _state_path(project, stage)).exists() else {}
    factory = CLIFactory(project_dir=str(project))
    config = factory.create_config_obj(chalice_stage_name=stage)
    deployer = factory.create_default_deployer(
        session=factory.create_botocore_session(), config=config, ui=UI()
    )
    try:
        deployed: dict[str, Any] = deployer.deploy(config, chalice_stage_name=stage)
    except Exception:
        # What this run created or updated (Chalice 1.34's executor, pinned in
        # requirements.txt; `chalice deploy` itself records nothing on failure).
        recorded = deployer._executor.resource_values
        state = merged_state(before, recorded)
        deployer._recorder.record_results(state, stage, str(project))
        raise
    factory.create_deployment_reporter(ui=UI()).display_report(deployed)
    return deployed


def deploy_with_state(outputs: dict[str, str], project: Path, stage: str) -> None:
    bucket = outputs["DeployStateBucketName"]
    fetch_state(bucket, project, stage)
    try:
        chalice_deploy(project, stage)
    finally:
        save_state(bucket, project, stage)


def _resources(project: Path, stage: str, kind: str) -> list[dict[str, Any]]:
    state = json.loads(_state_path(project, stage).read_text())
    return [r for r in state["resources"] if r.get("resource_type") == kind]


def tune_api(outputs: dict[str, str], project: Path, stage: str) -> None:
    """Stage throttling, metrics and X-Ray; the default endpoint off behind a custom domain."""
    (api,) = _resources(project, stage, "rest_api")
    stage_name = _config(project, stage).get("api_gateway_stage", "api")
    client = boto3.client("apigateway")
    gateway_responses.put_all(client, api["rest_api_id"])
    if outputs.get("DomainName"):
        client.update_rest_api(
            restApiId=api["rest_api_id"],
            patchOperations=[
                {"op": "replace", "path": "/disableExecuteApiEndpoint", "value": "True"}
            ],
        )
    # The gateway responses and the endpoint setting take effect with a deployment.
    client.create_deployment(restApiId=api["rest_api_id"], stageName=stage_name)
    client.update_stage(
        restApiId=api["rest_api_id"],
        stageName=stage_name,
        patchOperations=stage_mod.stage_patch(stage),
    )


def cap_sqs_sources(project: Path, stage: str) -> None:
    maximum = stage_mod.stage_limits(stage)["sqs_maximum_concurrency"]
    client = boto3.client("lambda")
    for mapping in _resources(project, stage, "sqs_event"):
        client.update_event_source_mapping(
            UUID=mapping["event_uuid"], ScalingConfig={"MaximumConcurrency": maximum}
        )


def keep_logs(project: Path, stage: str) -> None:
    """Each function's log group /aws/lambda/NAME with 7-day retention; Chalice's misnamed
    group of the REST handler (/aws/lambda/APP-STAGE-api_handler) removed."""
    app = json.loads((project / ".chalice" / "config.json").read_text())["app_name"]
    names = [r["lambda_arn"].split(":")[-1] for r in _resources(project, stage, "lambda_function")]
    logs = boto3.client("logs")
    for name in names:
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=f"/aws/lambda/{name}")
        logs.put_retention_policy(
            logGroupName=f"/aws/lambda/{name}", retentionInDays=RETENTION_DAYS
        )
    misnamed = f"/aws/lambda/{app}-{stage}-{stage_mod.API_HANDLER}"
    if misnamed.removeprefix("/aws/lambda/") not in names:
        with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
            logs.delete_log_group(logGroupName=misnamed)


def point_health_check(outputs: dict[str, str], project: Path, stage: str) -> None:
    """Without a custom domain, the health check calls the stage's execute-api URL."""
    if outputs.get("HealthcheckBaseUrl"):
        return
    (api,) = _resources(project, stage, "rest_api")
    app = json.loads((project / ".chalice" / "config.json").read_text())["app_name"]
    name = stage_mod.function_name(app, stage, "daily_health_check")
    client = boto3.client("lambda")
    env = client.get_function_configuration(FunctionName=name).get("Environment", {})
    variables = dict(env.get("Variables", {}))
    variables["HEALTHCHECK_BASE_URL"] = api["rest_api_url"].rstrip("/")
    client.update_function_configuration(FunctionName=name, Environment={"Variables": variables})


def dns_target(project: Path, stage: str) -> str:
    """The infra stack's parameters for the custom domain's alias record."""
    (domain,) = _resources(project, stage, "domain_name")
    return (
        f"ApiTargetDomainName={domain['alias_domain_name']} "
        f"ApiTargetHostedZoneId={domain['hosted_zone_id']}"
    )


def finish(outputs: dict[str, str], project: Path, stage: str) -> None:
    tune_api(outputs, project, stage)
    cap_sqs_sources(project, stage)
    keep_logs(project, stage)
    point_health_check(outputs, project, stage)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="infra/deploy_steps.py")
    parser.add_argument("step", choices=["preflight", "chalice-deploy", "finish", "dns-target"])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--project", required=True, type=Path)
    parser.add_argument("--outputs", type=Path, help="the infra stack's outputs (JSON)")
    args = parser.parse_args(argv)
    outputs = stage_mod.load_outputs(args.outputs) if args.outputs else {}
    if outputs.get("Region"):  # the stage's region is the infra stack's
        os.environ["AWS_DEFAULT_REGION"] = outputs["Region"]
    try:
        if args.step == "preflight":
            preflight(args.project, args.stage)
        elif args.step == "chalice-deploy":
            deploy_with_state(outputs, args.project, args.stage)
        elif args.step == "dns-target":
            print(dns_target(args.project, args.stage))
        else:
            finish(outputs, args.project, args.stage)
    except DeployError as exc:
        print(f"make deploy: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
