"""Assemble a stage's Terraform configuration: infra/terraform/*.tf plus the application,
generated from what Chalice and our policy files say.

    python infra/terraform/generate.py --stage prod --build build/prod

It renders the stage's Chalice project (infra/stage.py) with every ``${infra:Name}``
turned into the Terraform expression ``${local.infra_Name}`` (declared in outputs.tf under
the names of infra/infra.yaml's outputs), runs `chalice package --pkg-format terraform`
on it, and writes BUILD/terraform/: the static files, ``chalice.tf.json`` (Chalice's output,
post-processed, see `application`) and ``stage.auto.tfvars.json``. The functions deploy
BUILD/app/deployment.zip, the precompiled zip of `make package`: Chalice's own zip is not it.
The state backend of that folder is infra/terraform/backend.py's.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))
import gateway_responses  # noqa: E402  (infra/gateway_responses.py)
import stage as stage_mod  # noqa: E402  (infra/stage.py, standard library only)

INFRA_TOKEN = re.compile(r"\$\{infra:([A-Za-z0-9]+)\}")
STATIC = ("*.tf", ".terraform.lock.hcl")
GENERATED = "chalice.tf.json"
# Chalice's data sources, named `chalice`: ours (versions.tf) are named `current`.
DATA_SOURCES = ("aws_partition", "aws_region", "aws_caller_identity")


class GenerateError(RuntimeError):
    """Chalice's output is not what the post-processing expects."""


def infra_names(root: Path = ROOT) -> list[str]:
    """Every infra output the stage settings and the policy files refer to."""
    paths = [root / "infra" / "wiring.json", root / ".chalice" / "config.json"]
    paths += sorted((root / ".chalice").glob("policy-*.json"))
    return sorted({name for p in paths for name in INFRA_TOKEN.findall(p.read_text())})


def terraform_outputs(root: Path = ROOT) -> dict[str, str]:
    """The infra outputs as Terraform expressions (outputs.tf declares each local)."""
    return {name: f"${{local.infra_{name}}}" for name in infra_names(root)}


def render_project(stage: str, out: Path, root: Path = ROOT) -> tuple[Path, dict[str, Any]]:
    """The stage's Chalice project with Terraform expressions for the infra outputs, and
    its stage settings; `log_retention_in_days` removed (Chalice's Terraform packager
    raises UnsupportedFeatureError on it: the log groups are ours, see `log_groups`)."""
    project = stage_mod.render(stage, terraform_outputs(root), out, root)
    path = project / ".chalice" / "config.json"
    config = json.loads(path.read_text())
    settings = copy.deepcopy(config["stages"][stage])
    for function in config["stages"][stage]["lambda_functions"].values():
        function.pop("log_retention_in_days", None)
    path.write_text(json.dumps(config, indent=2) + "\n")
    return project, settings | {"app_name": config["app_name"]}


def chalice_package(project: Path, stage: str, out: Path) -> dict[str, Any]:
    """`chalice package --pkg-format terraform` (the region only names botocore's client)."""
    chalice = Path(sys.executable).parent / "chalice"
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_REGION", "us-east-1")}
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(
        [str(chalice), "package", "--pkg-format", "terraform", "--stage", stage, str(out)],
        cwd=project, env=env, check=True,
    )  # fmt: skip
    template: dict[str, Any] = json.loads((out / GENERATED).read_text())
    return template


def _own_data_sources(template: dict[str, Any]) -> dict[str, Any]:
    """Chalice's version pins (terraform < 1.4, aws < 5, aws/chalice#2066) and its
    unreferenced null_data_source (#1874) dropped; its data sources are ours."""
    text = json.dumps({k: v for k, v in template.items() if k not in ("terraform", "data")})
    for source in DATA_SOURCES:
        text = text.replace(f"data.{source}.chalice.", f"data.{source}.current.")
    for source, name in re.findall(r"\bdata\.(\w+)\.(\w+)", text):
        if source not in DATA_SOURCES or name != "current":
            raise GenerateError(f"Chalice's output refers to data.{source}.{name}")
    result: dict[str, Any] = json.loads(text)
    return result


def functions(template: dict[str, Any], zip_path: str) -> None:
    """Each function deploys our zip, on the architecture the merge template gives it (the
    same as the SAM template's), after its log group exists."""
    arm = stage_mod.architectures(list(template["resource"]["aws_lambda_function"]))
    for key, function in template["resource"]["aws_lambda_function"].items():
        merged = arm["Resources"][stage_mod.logical_id(key)]["Properties"]
        function["architectures"] = merged["Architectures"]
        function["filename"] = zip_path
        function["source_code_hash"] = f'${{filebase64sha256("{zip_path}")}}'
        function["depends_on"] = [f"aws_cloudwatch_log_group.{key}"]


def log_groups(template: dict[str, Any], settings: dict[str, Any]) -> None:
    """`/aws/lambda/NAME` for each function, kept as long as config.json says (7 days)."""
    groups = template["resource"].setdefault("aws_cloudwatch_log_group", {})
    for key, function in template["resource"]["aws_lambda_function"].items():
        days = settings["lambda_functions"][key]["log_retention_in_days"]
        groups[key] = {
            "name": f"/aws/lambda/{function['function_name']}",
            "retention_in_days": days,
        }


def schedules(template: dict[str, Any], settings: dict[str, Any], stage: str) -> None:
    """Rule names as `chalice deploy` gives them (APP-STAGE-NAME-event): stage-prefixed."""
    for key, rule in template["resource"].get("aws_cloudwatch_event_rule", {}).items():
        rule["name"] = f"{settings['app_name']}-{stage}-{key}"
        if not rule.get("description"):
            rule.pop("description", None)


def sqs_sources(template: dict[str, Any], limits: dict[str, int]) -> None:
    """The SQS mappings' maximum concurrency (infra/stages.json), made after the queue and
    the function's grants exist (Lambda checks both when it creates the mapping)."""
    mappings = template["resource"].get("aws_lambda_event_source_mapping", {})
    for mapping in mappings.values():
        if ":sqs:" not in mapping["event_source_arn"]:
            continue
        function = mapping["function_name"].split(".")[1]
        role = template["resource"]["aws_lambda_function"][function]["role"].split(".")[1]
        mapping["scaling_config"] = {"maximum_concurrency": limits["sqs_maximum_concurrency"]}
        mapping["depends_on"] = ["aws_sqs_queue.tasks", f"aws_iam_role_policy.{role}"]


def rest_api(
    template: dict[str, Any], settings: dict[str, Any], limits: dict[str, int]
) -> str | None:
    """A separate stage with X-Ray and throttling (infra/stages.json), redeployed when the
    Swagger document changes; with a custom domain the default endpoint off and the
    domain's alias record. Returns the stage's resource address, None without an API."""
    resources = template["resource"]
    apis = resources.get("aws_api_gateway_rest_api", {})
    if not apis:
        return None
    (key,) = apis
    stage_name = settings.get("api_gateway_stage", "api")
    deployment = resources["aws_api_gateway_deployment"][key]
    if deployment.pop("stage_name") != stage_name:
        raise GenerateError("the deployment's stage is not the configured one")
    deployment.pop("stage_description", None)
    deployment["triggers"] = {"redeployment": "${sha1(local.chalice_api_swagger)}"}
    stage_ref = f"aws_api_gateway_stage.{key}"
    resources["aws_api_gateway_stage"] = {
        key: {
            "rest_api_id": f"${{aws_api_gateway_rest_api.{key}.id}}",
            "deployment_id": f"${{aws_api_gateway_deployment.{key}.id}}",
            "stage_name": stage_name,
            "xray_tracing_enabled": True,
        }
    }
    resources["aws_api_gateway_method_settings"] = {
        key: {
            "rest_api_id": f"${{aws_api_gateway_rest_api.{key}.id}}",
            "stage_name": f"${{{stage_ref}.stage_name}}",
            "method_path": "*/*",
            "settings": {
                "throttling_rate_limit": limits["throttling_rate_limit"],
                "throttling_burst_limit": limits["throttling_burst_limit"],
                "metrics_enabled": True,
            },
        }
    }
    answers = gateway_responses.terraform_resources(f"${{aws_api_gateway_rest_api.{key}.id}}")
    resources["aws_api_gateway_gateway_response"] = answers
    deployment["depends_on"] = [f"aws_api_gateway_gateway_response.{name}" for name in answers]
    template["output"]["EndpointURL"] = {"value": f"${{{stage_ref}.invoke_url}}"}
    domains = resources.get("aws_api_gateway_domain_name", {})
    for domain_key in domains:
        apis[key]["disable_execute_api_endpoint"] = True
        mapping = resources["aws_api_gateway_base_path_mapping"][f"{domain_key}_mapping"]
        mapping["stage_name"] = f"${{{stage_ref}.stage_name}}"
        domain = f"aws_api_gateway_domain_name.{domain_key}"
        resources["aws_route53_record"] = {
            "api_alias": {
                "zone_id": "${var.hosted_zone_id}",
                "name": f"${{{domain}.domain_name}}",
                "type": "A",
                "alias": {
                    "name": f"${{{domain}.regional_domain_name}}",
                    "zone_id": f"${{{domain}.regional_zone_id}}",
                    "evaluate_target_health": False,
                },
            }
        }
    return stage_ref


def health_check_url(template: dict[str, Any], stage_ref: str | None) -> None:
    """The health check calls https://DOMAIN, or the stage's execute-api URL without one."""
    fallback = f"{stage_ref}.invoke_url" if stage_ref else '""'
    template["locals"]["healthcheck_base_url"] = (
        f'${{var.domain_name != "" ? "https://${{var.domain_name}}" : {fallback}}}'
    )


def proxy_clients(template: dict[str, Any], settings: dict[str, Any]) -> None:
    """How many connections RDS Proxy's clients can hold at once: the reserved concurrency
    of the functions that log in through it (proxy.tf sizes the pool from it)."""
    template["locals"]["proxy_clients"] = sum(
        int(function.get("reserved_concurrency", 0))
        for function in settings["lambda_functions"].values()
        if "DATABASE_PROXY_ENDPOINT" in function.get("environment_variables", {})
    )


def application(
    template: dict[str, Any], stage: str, settings: dict[str, Any], zip_path: str
) -> dict[str, Any]:
    """Chalice's Terraform output, made deployable and equal to the CloudFormation path."""
    result = _own_data_sources(template)
    limits = stage_mod.stage_limits(stage)
    log_groups(result, settings)
    functions(result, zip_path)
    schedules(result, settings, stage)
    sqs_sources(result, limits)
    proxy_clients(result, settings)
    health_check_url(result, rest_api(result, settings, limits))
    return result


def render(stage: str, build: Path, root: Path = ROOT) -> Path:
    """Write BUILD/terraform (static files, generated application, the stage's variable)."""
    work = build / "terraform-chalice"
    project, settings = render_project(stage, work, root)
    template = chalice_package(project, stage, work / "package")
    target = build / "terraform"
    target.mkdir(parents=True, exist_ok=True)
    for old in [*target.glob("*.tf"), *target.glob("*.tf.json")]:
        old.unlink()
    for pattern in STATIC:
        for path in HERE.glob(pattern):
            shutil.copy2(path, target / path.name)
    zip_path = "${path.module}/" + os.path.relpath(build / "app" / "deployment.zip", target)
    _write(target / GENERATED, application(template, stage, settings, zip_path))
    _write(target / "stage.auto.tfvars.json", {"stage": stage})
    return target


def _write(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="infra/terraform/generate.py")
    parser.add_argument("--stage", required=True)
    parser.add_argument("--build", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        print(render(args.stage, args.build))
    except (GenerateError, stage_mod.RenderError) as exc:
        print(f"infra/terraform/generate.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
