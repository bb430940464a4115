"""Turn the infra stack's outputs into a deployable Chalice project for one stage:
`python infra/stage.py render --stage prod --outputs build/prod/infra-outputs.json --out
build/prod` writes OUT/project/ (app.py, chalicelib/, requirements.txt and a .chalice/ whose
config.json and policy-*.json have every ``${infra:Name}`` replaced by the stack output Name,
``${stage}`` by the stage and ``${function_name}`` by the deployed function's name) and
OUT/merge.json, the template merged into `chalice package --merge-template`; `output
--outputs FILE NAME` prints one output. Standard library only: it runs in CI first.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script or loaded by path
import gateway_responses

ROOT = Path(__file__).resolve().parent.parent
TOKEN = re.compile(r"\$\{(infra:[A-Za-z0-9]+|stage|function_name)\}")
COPIED = ("app.py", "requirements.txt", "chalicelib")
API_HANDLER = "api_handler"
# Outputs a stage may lack. HealthcheckBaseUrl: without a custom domain, `make deploy`
# points the health check at the stage's execute-api URL once chalice deploy made it.
OPTIONAL = {"infra:HealthcheckBaseUrl": ""}


class RenderError(RuntimeError):
    """An output is missing, or a token is left unresolved."""


def load_outputs(path: Path) -> dict[str, str]:
    """`aws cloudformation describe-stacks --query Stacks[0].Outputs` (or a plain mapping)."""
    data = json.loads(path.read_text())
    if isinstance(data, dict) and "Stacks" in data:
        data = data["Stacks"][0]["Outputs"]
    if isinstance(data, list):
        return {item["OutputKey"]: str(item["OutputValue"]) for item in data}
    return {str(k): str(v) for k, v in data.items()}


def merge(base: Any, overlay: Any) -> Any:
    """Deep merge of JSON objects; the overlay wins on scalars and lists."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = dict(base)
        for key, value in overlay.items():
            if not key.startswith("_"):
                out[key] = merge(base.get(key), value)
        return out
    return copy.deepcopy(overlay)


def substitute(value: Any, tokens: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: substitute(v, tokens) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, tokens) for v in value]
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            if match.group(1) not in tokens:
                raise RenderError(f"no value for ${{{match.group(1)}}}")
            return tokens[match.group(1)]

        return TOKEN.sub(replace, value)
    return value


def function_name(app_name: str, stage: str, function: str) -> str:
    """The Lambda function's name, as `chalice deploy` names it (and the merge pins it)."""
    if function == API_HANDLER:
        return f"{app_name}-{stage}"
    return f"{app_name}-{stage}-{function}"


def stage_config(stage: str, outputs: dict[str, str], root: Path = ROOT) -> dict[str, Any]:
    """The project's config.json with only this stage, the infra wiring merged and resolved."""
    config = json.loads((root / ".chalice" / "config.json").read_text())
    if stage not in config["stages"]:
        raise RenderError(f"no stage {stage!r} in .chalice/config.json")
    wiring = json.loads((root / "infra" / "wiring.json").read_text())
    tokens = OPTIONAL | {f"infra:{k}": v for k, v in outputs.items()} | {"stage": stage}
    config["stages"] = {stage: substitute(merge(config["stages"][stage], wiring), tokens)}
    return dict(config)


def policies(
    config: dict[str, Any], stage: str, outputs: dict[str, str], root: Path = ROOT
) -> dict[str, dict[str, Any]]:
    """Each function's policy file, resolved for the stage: file name -> document."""
    tokens = {f"infra:{k}": v for k, v in outputs.items()} | {"stage": stage}
    rendered: dict[str, dict[str, Any]] = {}
    for function, settings in config["stages"][stage]["lambda_functions"].items():
        name = settings.get("iam_policy_file")
        if not name:
            raise RenderError(f"{function} has no iam_policy_file: every function needs one")
        template = json.loads((root / ".chalice" / name).read_text())
        own = {"function_name": function_name(config["app_name"], stage, function)}
        rendered[name] = substitute(template, tokens | own)
    return rendered


def app_functions(project: Path) -> tuple[list[str], list[str]]:
    """The Lambda functions the project's app.py defines (the REST handler, then each event
    source), and those an SQS queue triggers (their event source gets a concurrency cap)."""
    sys.path.insert(0, str(project))
    try:
        import app as module  # the project's own app.py

        app = module.app
        names = [API_HANDLER] if app.routes else []
        names += [source.name for source in app.event_sources]
        names += [function.name for function in app.pure_lambda_functions]
        sqs = [s.name for s in app.event_sources if type(s).__name__ == "SQSEventConfig"]
        return names, sqs
    finally:
        sys.path.remove(str(project))


def logical_id(function: str) -> str:
    """The resource name Chalice gives a function in its template."""
    if function == API_HANDLER:
        return "APIHandler"
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]", function))


def merge_template(
    app_name: str,
    stage: str,
    functions: list[str],
    limits: dict[str, int],
    sqs: list[str] | None = None,
    domain_stage: str | None = None,
) -> dict[str, Any]:
    """What `chalice package --merge-template` adds to Chalice's template.

    - pins each function's name to the one `chalice deploy` uses, so the IAM policies'
      log-group ARNs hold for both ways of deploying;
    - fixes aws/chalice#2079: the REST handler's log group refers to `${ApiHandler}`, a
      resource that does not exist (the function is `APIHandler`);
    - turns on X-Ray and stage throttling on the REST API;
    - caps how many concurrent invocations each SQS event source may start
      (`ScalingConfig.MaximumConcurrency`, which Chalice cannot set);
    - with a custom domain (``domain_stage``, the API stage it maps): the default
      `execute-api` endpoint off (TLS 1.2 end to end), and the base path mapping made
      after the stage SAM generates (else "Invalid stage identifier").
    """
    resources: dict[str, Any] = {}
    for function in functions:
        resources[logical_id(function)] = {
            "Properties": {"FunctionName": function_name(app_name, stage, function)}
        }
    for function in sqs or []:
        event = f"{logical_id(function)}SqsEventSource"
        scaling = {"MaximumConcurrency": limits["sqs_maximum_concurrency"]}
        resources[logical_id(function)]["Properties"]["Events"] = {
            event: {"Properties": {"ScalingConfig": scaling}}
        }
    if API_HANDLER in functions:
        resources["ApiHandlerLogGroup"] = {
            "Properties": {"LogGroupName": {"Fn::Sub": "/aws/lambda/${APIHandler}"}}
        }
        resources["RestAPI"] = {
            "Properties": {
                "TracingEnabled": True,
                "MethodSettings": [
                    {
                        "ResourcePath": "/*",
                        "HttpMethod": "*",
                        "ThrottlingRateLimit": limits["throttling_rate_limit"],
                        "ThrottlingBurstLimit": limits["throttling_burst_limit"],
                        "MetricsEnabled": True,
                    }
                ],
            }
        }
    if API_HANDLER in functions and domain_stage:
        resources["RestAPI"]["Properties"]["DisableExecuteApiEndpoint"] = True
        resources["ApiGatewayCustomDomainMapping"] = {"DependsOn": [f"RestAPI{domain_stage}Stage"]}
    return {"Resources": resources}


def stage_limits(stage: str, root: Path = ROOT) -> dict[str, int]:
    limits: dict[str, dict[str, int]] = json.loads((root / "infra" / "stages.json").read_text())
    return limits[stage]


def render(stage: str, outputs: dict[str, str], out: Path, root: Path = ROOT) -> Path:
    """Write OUT/project and OUT/merge.json; returns the project folder."""
    config = stage_config(stage, outputs, root)
    project = out / "project"
    cache = out / "deployments-cache"  # chalice deploy's dependency zips, kept across renders
    if (project / ".chalice" / "deployments").exists():
        shutil.rmtree(cache, ignore_errors=True)
        (project / ".chalice" / "deployments").rename(cache)
    if project.exists():
        shutil.rmtree(project)
    (project / ".chalice").mkdir(parents=True)
    if cache.exists():
        cache.rename(project / ".chalice" / "deployments")
    for name in COPIED:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, project / name)
    _write(project / ".chalice" / "config.json", config)
    for name, document in policies(config, stage, outputs, root).items():
        _write(project / ".chalice" / name, document)
    functions, sqs = app_functions(project)
    settings = config["stages"][stage]
    domain_stage = settings.get("api_gateway_stage", "api")
    template = merge_template(
        config["app_name"], stage, functions, stage_limits(stage, root), sqs,
        domain_stage if settings.get("api_gateway_custom_domain") else None,
    )  # fmt: skip
    template = merge(template, architectures(functions))
    if API_HANDLER in functions:
        template["Resources"].update(gateway_responses.template_resources())
    _write(out / "merge.json", template)
    return project


# --- arm64 (Graviton): Chalice cannot set a function's architecture. The merge template sets
# it for `chalice package`; `make deploy` runs `arm64` after `chalice deploy`. Pure Python.
def architectures(functions: list[str]) -> dict[str, Any]:
    arm64 = {"Properties": {"Architectures": ["arm64"]}}
    return {"Resources": {logical_id(f): arm64 for f in functions}}


def deployed_functions(state: dict[str, Any]) -> list[str]:
    """The ARNs of the functions `chalice deploy` made (its state file)."""
    return [r["lambda_arn"] for r in state.get("resources", []) if "lambda_arn" in r]


def run_on_arm64(project: Path, stage: str, client: Any = None) -> None:
    """Each deployed function's code again, with Architectures=[arm64] (boto3, from .venv)."""
    import boto3

    state = json.loads((project / ".chalice" / "deployed" / f"{stage}.json").read_text())
    built = sorted((project / ".chalice" / "deployments").glob("*.zip"), key=os.path.getmtime)
    client, code = client or boto3.client("lambda"), built[-1].read_bytes()
    for arn in deployed_functions(state):
        client.update_function_code(FunctionName=arn, ZipFile=code, Architectures=["arm64"])


def stage_patch(stage: str, root: Path = ROOT) -> list[dict[str, str]]:
    """API Gateway UpdateStage patch operations for the limits (after chalice deploy)."""
    limits = stage_limits(stage, root)
    values = {
        "/*/*/throttling/rateLimit": str(limits["throttling_rate_limit"]),
        "/*/*/throttling/burstLimit": str(limits["throttling_burst_limit"]),
        "/*/*/metrics/enabled": "true",
        "/tracingEnabled": "true",
    }
    return [{"op": "replace", "path": path, "value": value} for path, value in values.items()]


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="infra/stage.py")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="write the stage's Chalice project and merge template")
    r.add_argument("--stage", required=True)
    r.add_argument("--outputs", required=True, type=Path)
    r.add_argument("--out", required=True, type=Path)
    o = sub.add_parser("output", help="print one output of the infra stack")
    o.add_argument("--outputs", required=True, type=Path)
    o.add_argument("name")
    a = sub.add_parser("arm64", help="after chalice deploy: every function on arm64")
    a.add_argument("--stage", required=True)
    a.add_argument("--project", required=True, type=Path)
    a.add_argument("--outputs", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "render":
            print(render(args.stage, load_outputs(args.outputs), args.out))
        elif args.command == "arm64":
            os.environ["AWS_DEFAULT_REGION"] = load_outputs(args.outputs)["Region"]
            run_on_arm64(args.project, args.stage)
        else:
            print(load_outputs(args.outputs)[args.name])
    except (RenderError, KeyError) as exc:
        print(f"infra/stage.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
