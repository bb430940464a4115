"""The Terraform path (issue 28): the configuration generated from Chalice and our policy
files equals the CloudFormation path, and `make bootstrap-tf`, `make plan-tf`, `make
tf-apply` (what `make deploy-tf` runs before migrate and health-key) and `make destroy-tf`
run for real against a throwaway moto server: terraform 1.11 with hashicorp/aws 5.100 from
TF_PLUGIN_DIR (default /opt/tf-plugins), the real botocore clients asserting what exists.

One module-scoped cycle: bootstrap, plan (production inputs, kept as JSON), apply, a second
plan that must be empty, then destroy (the last test) and nothing of the stage left.

moto lacks two things, stood in as the CloudFormation rehearsal stands in for what moto's
CloudFormation cannot create: the Serverless Application Repository (the rotation
function's stack: a stand-in function is made in moto and passed as rotation_lambda_arn)
and running Lambda code (its simple backend answers the rotation's test invocation). Both
are asserted on the production plan instead. Its bugs are patched in the server's own
process (tests/support/moto_tf_patches.py).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from conftest import moto_client
from support.moto import AWS_ENV
from support.moto_process import MotoProcess
from support.net import ServerUnavailable, unavailable

ROOT = Path(__file__).resolve().parents[2]
STAGE = "prod"
APP = "textfiles"
ZONE = "textfiles.example.com"
DOMAIN = f"api.{ZONE}"
ALERT_URL = "https://alerts.example.com/v1/events"
PLUGIN_DIR = Path(os.environ.get("TF_PLUGIN_DIR", "/opt/tf-plugins"))
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
FUNCTIONS = {
    "api_handler": "textfiles-prod",
    "task_worker": "textfiles-prod-task_worker",
    "daily_purge": "textfiles-prod-daily_purge",
    "daily_health_check": "textfiles-prod-daily_health_check",
    "admin": "textfiles-prod-admin",
}
TIMINGS: dict[str, float] = {}


def _module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def infra_stage() -> ModuleType:
    return _module("infra_stage", ROOT / "infra" / "stage.py")


def make(*args: str, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def must(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.stdout[-4000:], result.stderr[-4000:])
    return result


# ------------------------------------------------------------------ the generated configuration


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`make tf-render STAGE=prod`: `make package`'s artifacts and build/prod/terraform."""
    build = tmp_path_factory.mktemp("terraform-prod")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = make("tf-render", f"STAGE={STAGE}", f"BUILD={build}", env=env)
    if result.returncode != 0 and "pypi" in (result.stdout + result.stderr).lower():
        unavailable("the package registry (chalice package downloads wheels)", result.stderr)
    must(result)
    return {
        "build": build,
        "dir": build / "terraform",
        "sam": json.loads((build / "app" / "sam.json").read_text()),
        "tf": json.loads((build / "terraform" / "chalice.tf.json").read_text()),
        "outputs": infra_stage().load_outputs(ROOT / "infra" / "example-outputs.json"),
    }


def sam_functions(rendered: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The SAM template's functions by Chalice's name (api_handler, task_worker, ...)."""
    stage = infra_stage()
    by_logical = {stage.logical_id(name): name for name in FUNCTIONS}
    return {
        by_logical[k]: v["Properties"]
        for k, v in rendered["sam"]["Resources"].items()
        if v["Type"] == "AWS::Serverless::Function"
    }


def tf_resources(rendered: dict[str, Any], kind: str) -> dict[str, Any]:
    resources: dict[str, Any] = rendered["tf"]["resource"].get(kind, {})
    return resources


def canonical(value: Any, outputs: dict[str, str]) -> Any:
    """An infra output, in either path's spelling, as ${infra:Name}: the CloudFormation
    path's resolved example values and the Terraform path's ${local.infra_Name}."""
    if isinstance(value, list):
        return [canonical(v, outputs) for v in value]
    if isinstance(value, dict):
        return {k: canonical(v, outputs) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    value = re.sub(r"\$\{local\.infra_(\w+)\}", r"${infra:\1}", value)
    whole = sorted(
        ((v, k) for k, v in outputs.items() if k not in ("Partition", "Region", "AccountId")),
        key=lambda item: -len(item[0]),
    )
    for output, name in whole:
        if value.startswith(output):
            return f"${{infra:{name}}}" + value[len(output) :]
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        for index, name in ((1, "Partition"), (3, "Region"), (4, "AccountId")):
            if parts[index] == outputs[name]:
                parts[index] = f"${{infra:{name}}}"
        return ":".join(parts)
    return value


def test_the_same_functions_with_the_same_settings(rendered: dict[str, Any]) -> None:
    sam, tf = sam_functions(rendered), tf_resources(rendered, "aws_lambda_function")
    assert set(sam) == set(tf) == set(FUNCTIONS)
    outputs = rendered["outputs"]
    for name, cfn in sam.items():
        fn = tf[name]
        assert fn["function_name"] == cfn["FunctionName"] == FUNCTIONS[name]
        assert fn["handler"] == cfn["Handler"], name
        assert fn["runtime"] == cfn["Runtime"], name  # from Chalice, never written here
        assert fn["memory_size"] == cfn["MemorySize"], name
        assert fn["timeout"] == cfn["Timeout"], name
        assert fn["reserved_concurrent_executions"] == cfn["ReservedConcurrentExecutions"]
        assert fn["architectures"] == cfn["Architectures"] == ["arm64"], name
        assert fn["tracing_config"] == {"mode": "Active"} and cfn["Tracing"] == "Active"
        cfn_env = cfn.get("Environment", {}).get("Variables", {})
        tf_env = fn.get("environment", {}).get("variables", {})
        assert set(tf_env) == set(cfn_env), name
        for key in cfn_env:
            if key != "HEALTHCHECK_BASE_URL":  # a Terraform expression: see below
                assert canonical(tf_env[key], outputs) == canonical(cfn_env[key], outputs)
        cfn_vpc = canonical(cfn.get("VpcConfig"), outputs)
        tf_vpc = canonical(fn.get("vpc_config"), outputs)
        assert (tf_vpc or {}).get("subnet_ids") == (cfn_vpc or {}).get("SubnetIds"), name
        assert (tf_vpc or {}).get("security_group_ids") == (cfn_vpc or {}).get("SecurityGroupIds")


def test_the_runtime_is_chalices_not_ours(rendered: dict[str, Any]) -> None:
    """The runtime follows the Python that packages (Chalice's output), in both paths."""
    runtimes = {fn["runtime"] for fn in tf_resources(rendered, "aws_lambda_function").values()}
    assert runtimes == {f"python{sys.version_info.major}.{sys.version_info.minor}"}
    ours = [
        ROOT / "infra" / "terraform" / "generate.py",
        *(ROOT / "infra" / "terraform").rglob("*.tf"),
    ]
    assert not [p for p in ours if re.search(r"python3\.\d", p.read_text())]


def _policy_statements(document: Any, outputs: dict[str, str]) -> list[dict[str, Any]]:
    statements = json.loads(document) if isinstance(document, str) else document
    result = []
    for s in statements["Statement"]:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        result.append(
            {
                "Sid": s.get("Sid"),
                "Effect": s["Effect"],
                "Action": sorted(actions),
                "Resource": sorted(canonical(resources, outputs)),
            }
        )
    return sorted(result, key=lambda s: str(s["Sid"]))


def test_the_same_iam_actions_and_resources(rendered: dict[str, Any]) -> None:
    outputs = rendered["outputs"]
    sam_roles = {
        k: v for k, v in rendered["sam"]["Resources"].items() if v["Type"] == "AWS::IAM::Role"
    }
    tf_fns = tf_resources(rendered, "aws_lambda_function")
    tf_policies = tf_resources(rendered, "aws_iam_role_policy")
    for name, cfn in sam_functions(rendered).items():
        (policy,) = sam_roles[cfn["Role"]["Fn::GetAtt"][0]]["Properties"]["Policies"]
        role = tf_fns[name]["role"].split(".")[1]
        tf_policy = tf_policies[role]["policy"]
        assert _policy_statements(tf_policy, outputs) == _policy_statements(
            policy["PolicyDocument"], outputs
        ), name


def test_the_same_schedules_and_the_same_queue_mapping(rendered: dict[str, Any]) -> None:
    sam = sam_functions(rendered)
    cfn_schedules = {
        name: e["Properties"]["Schedule"]
        for name, fn in sam.items()
        for e in fn.get("Events", {}).values()
        if e["Type"] == "Schedule"
    }
    rules = tf_resources(rendered, "aws_cloudwatch_event_rule")
    targets = tf_resources(rendered, "aws_cloudwatch_event_target")
    tf_schedules = {
        targets[key]["arn"].split(".")[1]: rule["schedule_expression"]
        for key, rule in rules.items()
    }
    assert tf_schedules == cfn_schedules and len(cfn_schedules) == 2
    for key, rule in rules.items():
        assert rule["name"] == f"{APP}-{STAGE}-{key}"  # as chalice deploy names them
    (cfn_sqs,) = [
        (name, e["Properties"])
        for name, fn in sam.items()
        for e in fn.get("Events", {}).values()
        if e["Type"] == "SQS"
    ]
    (mapping,) = tf_resources(rendered, "aws_lambda_event_source_mapping").values()
    assert mapping["function_name"] == f"${{aws_lambda_function.{cfn_sqs[0]}.arn}}"
    assert mapping["batch_size"] == cfn_sqs[1]["BatchSize"]
    assert mapping["event_source_arn"].endswith(":" + cfn_sqs[1]["Queue"]["Fn::Sub"].split(":")[-1])
    maximum = cfn_sqs[1]["ScalingConfig"]["MaximumConcurrency"]
    assert mapping["scaling_config"] == {"maximum_concurrency": maximum}


def _swagger_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items() for method in item}


def test_the_same_routes_and_api_settings(rendered: dict[str, Any]) -> None:
    cfn_api = rendered["sam"]["Resources"]["RestAPI"]["Properties"]
    tf_swagger = json.loads(rendered["tf"]["locals"]["chalice_api_swagger"])
    assert _swagger_routes(tf_swagger) == _swagger_routes(cfn_api["DefinitionBody"])
    (api,) = tf_resources(rendered, "aws_api_gateway_rest_api").values()
    assert api["endpoint_configuration"] == {"types": [cfn_api["EndpointConfiguration"]]}
    assert api["disable_execute_api_endpoint"] is cfn_api["DisableExecuteApiEndpoint"] is True
    (stage,) = tf_resources(rendered, "aws_api_gateway_stage").values()
    assert stage["stage_name"] == cfn_api["StageName"] and stage["xray_tracing_enabled"]
    (settings,) = tf_resources(rendered, "aws_api_gateway_method_settings").values()
    (cfn_settings,) = cfn_api["MethodSettings"]
    assert settings["method_path"] == "*/*"
    assert settings["settings"] == {
        "throttling_rate_limit": cfn_settings["ThrottlingRateLimit"],
        "throttling_burst_limit": cfn_settings["ThrottlingBurstLimit"],
        "metrics_enabled": cfn_settings["MetricsEnabled"],
    }
    tf_answers = tf_resources(rendered, "aws_api_gateway_gateway_response").values()
    cfn_answers = [
        v["Properties"]
        for v in rendered["sam"]["Resources"].values()
        if v["Type"] == "AWS::ApiGateway::GatewayResponse"
    ]
    assert sorted(
        (a["response_type"], a["status_code"], a["response_templates"]) for a in tf_answers
    ) == sorted((a["ResponseType"], a["StatusCode"], a["ResponseTemplates"]) for a in cfn_answers)
    (domain,) = tf_resources(rendered, "aws_api_gateway_domain_name").values()
    (cfn_domain,) = [
        v["Properties"]
        for v in rendered["sam"]["Resources"].values()
        if v["Type"] == "AWS::ApiGateway::DomainName"
    ]
    assert domain["security_policy"] == cfn_domain["SecurityPolicy"] == "TLS_1_2"
    assert domain["endpoint_configuration"] == {"types": ["REGIONAL"]}


def test_every_function_logs_7_days_to_a_group_named_after_it(rendered: dict[str, Any]) -> None:
    groups = tf_resources(rendered, "aws_cloudwatch_log_group")
    cfn_groups = {
        v["Properties"]["LogGroupName"]["Fn::Sub"]: v["Properties"]["RetentionInDays"]
        for v in rendered["sam"]["Resources"].values()
        if v["Type"] == "AWS::Logs::LogGroup"
    }
    assert len(cfn_groups) == len(groups) == len(FUNCTIONS)
    assert set(cfn_groups.values()) == {7}
    for key, function in tf_resources(rendered, "aws_lambda_function").items():
        assert groups[key] == {"name": f"/aws/lambda/{FUNCTIONS[key]}", "retention_in_days": 7}
        assert function["depends_on"] == [f"aws_cloudwatch_log_group.{key}"]


def test_chalices_terraform_is_made_deployable(rendered: dict[str, Any]) -> None:
    """No version pins (< 1.4, < 5), no null_data_source, no zip of Chalice's own: the
    functions deploy `make package`'s precompiled zip."""
    tf = rendered["tf"]
    assert "terraform" not in tf and "data" not in tf
    assert "null_data_source" not in json.dumps(tf)
    zip_path = rendered["build"] / "app" / "deployment.zip"
    for function in tf_resources(rendered, "aws_lambda_function").values():
        relative = function["filename"].removeprefix("${path.module}/")
        assert (rendered["dir"] / relative).resolve() == zip_path.resolve()
        assert function["source_code_hash"] == f'${{filebase64sha256("{function["filename"]}")}}'
    names = zipfile.ZipFile(zip_path).namelist()
    assert any(n.endswith(".pyc") for n in names) and "pg8000/native.py" not in names


def test_deploy_tf_runs_the_same_steps_after_apply() -> None:
    make_file = (ROOT / "mk" / "terraform.mk").read_text()
    assert re.search(r"^deploy-tf:.*\btf-apply deploy-migrate deploy-health-key$", make_file, re.M)
    assert "show -json tfplan > $(TF_DIR)/plan.json" in make_file


# ------------------------------------------------------------------ applied against moto


def terraform_env(moto: MotoProcess, folder: Path) -> dict[str, str]:
    cli_config = folder / "terraformrc"
    cli_config.write_text("")  # nobody's CLI settings, no registry mirror
    return {
        **os.environ, **AWS_ENV, "AWS_ENDPOINT_URL": moto.endpoint,
        "TF_PLUGIN_DIR": str(PLUGIN_DIR), "TF_CLI_CONFIG_FILE": str(cli_config),
        "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1",
    }  # fmt: skip


def stand_in_rotation(moto: MotoProcess) -> str:
    """A rotation function of our own (moto has no Serverless Application Repository)."""
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as zf:
        zf.writestr("rotate.py", "def handler(event, context):\n    return None\n")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Principal": {"Service": "lambda.amazonaws.com"}}],
    }  # fmt: skip
    role = moto_client("iam", moto.endpoint).create_role(
        RoleName="rotation-stand-in", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    function = moto_client("lambda", moto.endpoint).create_function(
        FunctionName=f"{APP}-{STAGE}-rotate-database", Runtime="python3.12", Role=role,
        Handler="rotate.handler", Code={"ZipFile": code.getvalue()},
    )  # fmt: skip
    return str(function["FunctionArn"])


def timed(name: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    start = time.monotonic()
    result = make(*args, env=env)
    TIMINGS[name] = round(time.monotonic() - start, 1)
    return result


@pytest.fixture(scope="module")
def cycle(rendered: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Bootstrap, plan-tf (production inputs), tf-apply (stand-ins), a second plan."""
    if shutil.which("terraform") is None:
        unavailable("terraform", "not on PATH (the machine image carries 1.11 in /usr/local/bin)")
    if not (PLUGIN_DIR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        unavailable("the hashicorp/aws provider", f"not under {PLUGIN_DIR} (TF_PLUGIN_DIR)")
    folder = tmp_path_factory.mktemp("terraform-cycle")
    moto = MotoProcess()
    try:
        moto.start()
    except ServerUnavailable as exc:
        unavailable("moto server", str(exc))
    env = terraform_env(moto, folder)
    state: dict[str, Any] = {"moto": moto, "env": env, "destroyed": False}
    try:
        must(
            timed("bootstrap", "bootstrap-tf", f"BOOTSTRAP_TF_DIR={folder / 'bootstrap'}", env=env)
        )
        zone = (
            moto_client("route53", moto.endpoint)
            .create_hosted_zone(Name=ZONE, CallerReference="textfiles-terraform-test")[
                "HostedZone"
            ]["Id"]
            .split("/")[-1]
        )
        inputs = [f"STAGE={STAGE}", f"BUILD={rendered['build']}", f"ALERT_URL={ALERT_URL}",
                  f"DOMAIN_NAME={DOMAIN}", f"HOSTED_ZONE_ID={zone}"]  # fmt: skip
        must(timed("plan", "plan-tf", *inputs, env=env))
        state["plan"] = json.loads((rendered["dir"] / "plan.json").read_text())
        stand_ins = (
            f"-var rotation_lambda_arn={stand_in_rotation(moto)} -var deletion_protection=false"
        )
        inputs.append(f"TF_EXTRA_VARS={stand_ins}")
        state |= {
            "inputs": inputs,
            "zone": zone,
            "apply": timed("apply", "tf-apply", *inputs, env=env),
        }
        must(state["apply"])
        tf = ["terraform", f"-chdir={rendered['dir']}"]
        variables = ["-var", f"alert_url={ALERT_URL}", "-var", f"domain_name={DOMAIN}",
                     "-var", f"hosted_zone_id={zone}", *stand_ins.split()]  # fmt: skip
        start = time.monotonic()
        state["replan"] = subprocess.run(
            [*tf, "plan", "-input=false", "-detailed-exitcode", *variables],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        TIMINGS["replan"] = round(time.monotonic() - start, 1)
        outputs = subprocess.run([*tf, "output", "-json"], env=env, capture_output=True,
                                 text=True, timeout=120, check=True)  # fmt: skip
        state["infra"] = json.loads(outputs.stdout)["infra"]["value"]
        shown = subprocess.run([*tf, "show", "-json"], env=env, capture_output=True,
                               text=True, timeout=120, check=True)  # fmt: skip
        state["state_text"] = shown.stdout
        yield state
    finally:
        if not state["destroyed"] and "inputs" in state:
            make("destroy-tf", *state["inputs"], f"CONFIRM={STAGE}", env=env)
        moto.stop()
        print(f"\nterraform timings (s): {TIMINGS}")


def aws(cycle: dict[str, Any], service: str) -> Any:
    return moto_client(service, cycle["moto"].endpoint)


def test_apply_succeeds_and_a_second_plan_changes_nothing(cycle: dict[str, Any]) -> None:
    replan = cycle["replan"]
    assert replan.returncode == 0, replan.stdout[-6000:] + replan.stderr[-3000:]


def test_the_state_is_in_the_bootstrap_bucket_with_a_lockfile(cycle: dict[str, Any]) -> None:
    s3 = aws(cycle, "s3")
    bucket = f"{APP}-tfstate-123456789012-us-east-1"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [f"{APP}/{STAGE}/terraform.tfstate"]  # the lockfile is gone after apply
    backend = (Path(cycle["inputs"][1].split("=", 1)[1]) / "terraform" / "backend.hcl").read_text()
    assert (
        "use_lockfile = true" in backend and 'key = "textfiles/prod/terraform.tfstate"' in backend
    )
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def test_no_password_in_the_plan_or_the_state(cycle: dict[str, Any]) -> None:
    secret = json.loads(
        aws(cycle, "secretsmanager").get_secret_value(SecretId=f"{APP}/{STAGE}/database")[
            "SecretString"
        ]
    )
    assert len(secret["password"]) == 40
    assert secret["password"] not in cycle["state_text"]
    assert secret["password"] not in json.dumps(cycle["plan"])


def test_functions_are_the_generated_ones(cycle: dict[str, Any], rendered: dict[str, Any]) -> None:
    lam = aws(cycle, "lambda")
    tf = tf_resources(rendered, "aws_lambda_function")
    infra = cycle["infra"]
    for key, name in FUNCTIONS.items():
        config = lam.get_function_configuration(FunctionName=name)
        assert config["Runtime"] == tf[key]["runtime"] and config["Handler"] == tf[key]["handler"]
        assert (config["MemorySize"], config["Timeout"]) == (
            tf[key]["memory_size"],
            tf[key]["timeout"],
        )
        assert config["TracingConfig"]["Mode"] == "Active"
        reserved = lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"]
        assert reserved == tf[key]["reserved_concurrent_executions"]
        env = config["Environment"]["Variables"]
        assert set(env) == set(tf[key]["environment"]["variables"])
        if "vpc_config" in tf[key]:
            vpc = config["VpcConfig"]
            assert sorted(vpc["SubnetIds"]) == sorted(
                [infra["PrivateSubnet1Id"], infra["PrivateSubnet2Id"]]
            )
            assert vpc["SecurityGroupIds"] == [infra["FunctionSecurityGroupId"]]
    checks = lam.get_function_configuration(FunctionName=FUNCTIONS["daily_health_check"])
    assert checks["Environment"]["Variables"]["HEALTHCHECK_BASE_URL"] == f"https://{DOMAIN}"
    api = lam.get_function_configuration(FunctionName=FUNCTIONS["api_handler"])
    variables = api["Environment"]["Variables"]
    assert (
        variables["MEMCACHED_SERVERS"] == infra["MemcachedServers"]
        and ":11211" in infra["MemcachedServers"]
    )
    assert variables["FILES_BUCKET"] == infra["FilesBucketName"]
    assert variables["DATABASE_SECRET_ARN"] == infra["AppDatabaseSecretArn"]


def test_roles_hold_the_policy_files_rendered_with_the_stack(cycle: dict[str, Any]) -> None:
    """What infra/stage.py renders from .chalice/policy-*.json for these outputs is exactly
    what each role holds: the CloudFormation path's policies, on Terraform's resources."""
    stage = infra_stage()
    config = stage.stage_config(STAGE, cycle["infra"] | {"HealthcheckBaseUrl": ""})
    expected = stage.policies(config, STAGE, cycle["infra"])
    iam, lam = aws(cycle, "iam"), aws(cycle, "lambda")
    for key, name in FUNCTIONS.items():
        role = lam.get_function_configuration(FunctionName=name)["Role"].split("/")[-1]
        (policy,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
        document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        wanted = expected[config["stages"][STAGE]["lambda_functions"][key]["iam_policy_file"]]
        assert document == wanted, name


def test_every_function_logs_7_days_to_its_own_group(cycle: dict[str, Any]) -> None:
    groups = aws(cycle, "logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{APP}-{STAGE}")
    retention = {g["logGroupName"]: g.get("retentionInDays") for g in groups["logGroups"]}
    expected = {f"/aws/lambda/{name}": 7 for name in FUNCTIONS.values()}
    assert retention == expected | {f"/aws/lambda/{APP}-{STAGE}-rotate-database": 7}


def test_rest_api_stage_domain_and_alias(cycle: dict[str, Any], rendered: dict[str, Any]) -> None:
    gateway = aws(cycle, "apigateway")
    (api,) = gateway.get_rest_apis()["items"]
    assert api["name"] == APP and api["disableExecuteApiEndpoint"] is True
    assert api["endpointConfiguration"]["types"] == ["REGIONAL"]
    assert api["binaryMediaTypes"] == ["*/*"]
    stage = gateway.get_stage(restApiId=api["id"], stageName="api")
    assert stage["tracingEnabled"] is True
    settings = stage["methodSettings"]["*/*"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (200, 400)
    assert settings["metricsEnabled"] is True
    for kind in ("MISSING_AUTHENTICATION_TOKEN", "INCOMPLETE_SIGNATURE"):
        answer = gateway.get_gateway_response(restApiId=api["id"], responseType=kind)
        assert answer["statusCode"] == "404"  # a route the API lacks, in our error shape
    paths = {r["path"] for r in gateway.get_resources(restApiId=api["id"], limit=500)["items"]}
    swagger = json.loads(rendered["tf"]["locals"]["chalice_api_swagger"])
    assert set(swagger["paths"]) <= paths
    domain = gateway.get_domain_name(domainName=DOMAIN)
    assert domain["securityPolicy"] == "TLS_1_2"
    assert domain["endpointConfiguration"]["types"] == ["REGIONAL"]
    (mapping,) = gateway.get_base_path_mappings(domainName=DOMAIN)["items"]
    assert (mapping["restApiId"], mapping["stage"]) == (api["id"], "api")
    records = aws(cycle, "route53").list_resource_record_sets(HostedZoneId=cycle["zone"])
    (alias,) = [r for r in records["ResourceRecordSets"] if r["Type"] == "A"]
    assert alias["Name"].rstrip(".") == DOMAIN
    assert alias["AliasTarget"]["DNSName"].rstrip(".") == domain["regionalDomainName"]


def test_daily_schedules_and_the_capped_queue_mapping(cycle: dict[str, Any]) -> None:
    events = aws(cycle, "events")
    rules = {
        r["Name"]: r["ScheduleExpression"]
        for r in events.list_rules(NamePrefix=f"{APP}-{STAGE}")["Rules"]
    }
    assert rules == {
        f"{APP}-{STAGE}-daily_purge-event": "rate(1 day)",
        f"{APP}-{STAGE}-daily_health_check-event": "cron(15 6 * * ? *)",
    }
    for rule in rules:
        (target,) = events.list_targets_by_rule(Rule=rule)["Targets"]
        assert target["Arn"].endswith(":function:" + rule.removesuffix("-event"))
    (mapping,) = aws(cycle, "lambda").list_event_source_mappings()["EventSourceMappings"]
    assert mapping["FunctionArn"].endswith(":function:" + FUNCTIONS["task_worker"])
    assert mapping["EventSourceArn"] == cycle["infra"]["TaskQueueArn"]
    assert mapping["BatchSize"] == 1 and mapping["ScalingConfig"] == {"MaximumConcurrency": 5}


def test_bucket_queues_and_secrets(cycle: dict[str, Any]) -> None:
    s3, sqs = aws(cycle, "s3"), aws(cycle, "sqs")
    bucket = cycle["infra"]["FilesBucketName"]
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["Status"] == "Enabled" and rule["Expiration"] == {"Days": 30}
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert {s["Sid"] for s in policy["Statement"]} == {"TlsOnly", "TlsOneTwoAtLeast"}
    (cors,) = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert cors["AllowedOrigins"] == [f"https://{DOMAIN}"]
    queue = sqs.get_queue_attributes(
        QueueUrl=cycle["infra"]["TaskQueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    assert queue["VisibilityTimeout"] == "5400" and queue["KmsMasterKeyId"] == "alias/aws/sqs"
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive == {
        "deadLetterTargetArn": cycle["infra"]["DeadLetterQueueArn"],
        "maxReceiveCount": 5,
    }
    secrets = aws(cycle, "secretsmanager")
    db = json.loads(
        secrets.get_secret_value(SecretId=cycle["infra"]["DatabaseSecretArn"])["SecretString"]
    )
    (instance,) = aws(cycle, "rds").describe_db_instances(DBInstanceIdentifier=f"{APP}-{STAGE}")[
        "DBInstances"
    ]
    assert (db["host"], db["port"], db["dbname"]) == (
        instance["Endpoint"]["Address"],
        instance["Endpoint"]["Port"],
        "textfiles",
    )
    app = json.loads(
        secrets.get_secret_value(SecretId=cycle["infra"]["AppDatabaseSecretArn"])["SecretString"]
    )
    assert app["username"] == "textfiles_app" and app["host"] == db["host"]
    assert app["password"] != db["password"]
    rotation = secrets.describe_secret(SecretId=cycle["infra"]["DatabaseSecretArn"])
    assert rotation["RotationEnabled"] is True
    assert rotation["RotationRules"]["AutomaticallyAfterDays"] == 30


def test_database_and_cache_are_private_and_reachable_only_from_the_functions(
    cycle: dict[str, Any],
) -> None:
    ec2 = aws(cycle, "ec2")
    (instance,) = aws(cycle, "rds").describe_db_instances(DBInstanceIdentifier=f"{APP}-{STAGE}")[
        "DBInstances"
    ]
    assert instance["StorageEncrypted"] is True and instance["PubliclyAccessible"] is False
    assert instance["MultiAZ"] is True and instance["Engine"] == "postgres"
    functions = cycle["infra"]["FunctionSecurityGroupId"]
    (cluster,) = aws(cycle, "elasticache").describe_cache_clusters(CacheClusterId=f"{APP}-{STAGE}")[
        "CacheClusters"
    ]
    assert cluster["Engine"] == "memcached" and cluster["NumCacheNodes"] == 1
    (proxy,) = aws(cycle, "rds").describe_db_proxies(DBProxyName=f"{APP}-{STAGE}")["DBProxies"]
    (proxy_group,) = proxy["VpcSecurityGroupIds"]
    database_group = instance["VpcSecurityGroups"][0]["VpcSecurityGroupId"]
    # Each group: (ingress, egress) as {(port, the referenced group)}.
    expected = {
        database_group: ({(5432, functions), (5432, proxy_group)}, set()),
        proxy_group: ({(5432, functions)}, {(5432, database_group)}),
        cluster["SecurityGroups"][0]["SecurityGroupId"]: ({(11211, functions)}, set()),
    }
    for group, (ingress, egress) in expected.items():
        rules = ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [group]}]
        )["SecurityGroupRules"]
        for rule in rules:
            assert rule["FromPort"] == rule["ToPort"], rule
        found = [
            (r["IsEgress"], (r["FromPort"], r["ReferencedGroupInfo"]["GroupId"])) for r in rules
        ]
        assert sorted(found) == sorted(
            [(False, rule) for rule in ingress] + [(True, rule) for rule in egress]
        ), group
    vpc = instance["DBSubnetGroup"]["VpcId"]
    gateways = ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}]
    )
    assert gateways["InternetGateways"] == []
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])[
        "VpcEndpoints"
    ]
    assert {e["ServiceName"].rsplit(".", 1)[1] for e in endpoints} == {
        "s3",
        "sqs",
        "secretsmanager",
        "xray",
    }


def test_the_functions_reach_the_database_through_rds_proxy_with_iam_and_tls(
    cycle: dict[str, Any],
) -> None:
    """The proxy: TLS and IAM authentication required, the application role's secret, the
    instance its target, the pool sized from the proxied functions' reserved concurrency
    (106 of a db.t4g.micro's ~81 connections: capped at 75%). The API, the worker and the
    purge get its endpoint and rds-db:connect on its application user, nothing wider."""
    rds, lam, iam = aws(cycle, "rds"), aws(cycle, "lambda"), aws(cycle, "iam")
    (proxy,) = rds.describe_db_proxies(DBProxyName=f"{APP}-{STAGE}")["DBProxies"]
    assert proxy["RequireTLS"] is True and proxy["EngineFamily"] == "POSTGRESQL"
    (auth,) = proxy["Auth"]
    assert (auth["AuthScheme"], auth["IAMAuth"]) == ("SECRETS", "REQUIRED")
    assert auth["SecretArn"] == cycle["infra"]["AppDatabaseSecretArn"]
    assert cycle["infra"]["DatabaseProxyEndpoint"] == proxy["Endpoint"]
    user_arn = cycle["infra"]["DatabaseProxyUserArn"]
    resource_id = proxy["DBProxyArn"].split(":")[6]
    assert user_arn == f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{resource_id}/textfiles_app"
    (group,) = rds.describe_db_proxy_target_groups(DBProxyName=proxy["DBProxyName"])["TargetGroups"]
    pool = group["ConnectionPoolConfig"]
    assert (pool["MaxConnectionsPercent"], pool["MaxIdleConnectionsPercent"]) == (75, 25)
    (target,) = rds.describe_db_proxy_targets(DBProxyName=proxy["DBProxyName"])["Targets"]
    assert target["RdsResourceId"] == f"{APP}-{STAGE}"
    for key, name in FUNCTIONS.items():
        env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        proxied = key in ("api_handler", "task_worker", "daily_purge")
        assert env.get("DATABASE_PROXY_ENDPOINT") == (proxy["Endpoint"] if proxied else None)
        role = lam.get_function_configuration(FunctionName=name)["Role"].split("/")[-1]
        logins = []
        for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
            document = json.loads(document) if isinstance(document, str) else document
            logins += [s for s in document["Statement"] if "rds-db:connect" in str(s["Action"])]
        if proxied:
            (login,) = logins
            assert login["Action"] in ("rds-db:connect", ["rds-db:connect"]), key
            assert login["Resource"] in (user_arn, [user_arn]), key
        else:
            assert logins == [], key


def test_alarms_budget_and_the_alarm_key(cycle: dict[str, Any]) -> None:
    alarms = aws(cycle, "cloudwatch").describe_alarms(AlarmNamePrefix=f"{APP}-{STAGE}")[
        "MetricAlarms"
    ]
    by_name = {a["AlarmName"]: a for a in alarms}
    health = by_name[f"{APP}-{STAGE}-health-check-failed"]
    assert health["TreatMissingData"] == "breaching"
    assert health["AlarmActions"] == [cycle["infra"]["AlarmTopicArn"]]
    assert f"{APP}-{STAGE}-tasks-dead-letters" in by_name
    topic = aws(cycle, "sns").get_topic_attributes(TopicArn=cycle["infra"]["AlarmTopicArn"])
    key = topic["Attributes"]["KmsMasterKeyId"]
    assert aws(cycle, "kms").get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True
    budget = aws(cycle, "budgets").describe_budget(
        AccountId="123456789012", BudgetName=f"{APP}-{STAGE}-monthly"
    )
    assert budget["Budget"]["BudgetLimit"]["Amount"] in ("150", "150.0")


# ------------------------------------------------------------------ the production plan


def planned(cycle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    resources = cycle["plan"]["planned_values"]["root_module"]["resources"]
    return {r["address"]: r.get("values", {}) for r in resources if r["mode"] == "managed"}


def test_the_production_plan_rotates_with_aws_function_and_protects_the_database(
    cycle: dict[str, Any],
) -> None:
    """What moto cannot apply, checked in the production plan (`make plan-tf`)."""
    plan = planned(cycle)
    stack = plan["aws_serverlessapplicationrepository_cloudformation_stack.rotation[0]"]
    assert stack["application_id"].endswith(
        ":297356227824:applications/SecretsManagerRDSPostgreSQLRotationSingleUser"
    )
    assert stack["name"] == f"{APP}-{STAGE}-rotate-database"
    assert "CAPABILITY_IAM" in stack["capabilities"]
    (change,) = [
        c
        for c in cycle["plan"]["resource_changes"]
        if c["address"] == "aws_serverlessapplicationrepository_cloudformation_stack.rotation[0]"
    ]
    assert change["change"]["after_unknown"]["parameters"] is True  # the subnets, at apply
    rotation = plan["aws_secretsmanager_secret_rotation.database"]
    assert rotation["rotation_rules"][0]["automatically_after_days"] == 30
    db = plan["aws_db_instance.main"]
    assert db["deletion_protection"] is True and db["multi_az"] is True
    assert db["storage_encrypted"] is True and db["publicly_accessible"] is False
    assert db["skip_final_snapshot"] is False
    assert db.get("password") is None and db.get("password_wo") is None
    functions = [k for k in plan if k.startswith("aws_lambda_function.")]
    assert len(functions) == len(FUNCTIONS)


def test_checkov_fails_nothing_but_the_documented_skips(
    cycle: dict[str, Any], rendered: dict[str, Any]
) -> None:
    """checkov's Terraform scan of the whole plan (the generated JSON is not read by its
    directory scan), against infra/terraform/checkov-skips.yaml."""
    if not CHECKOV.exists():
        unavailable("checkov", f"{CHECKOV} is missing: run `make checkov-venv`")
    result = subprocess.run(
        [str(CHECKOV), "-f", str(rendered["dir"] / "plan.json"), "--framework", "terraform_plan",
         "--skip-download", "--quiet", "-o", "json"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failures = [
        (c["check_id"], c["resource"]) for r in reports for c in r["results"]["failed_checks"]
    ]
    skips = yaml.safe_load((ROOT / "infra" / "terraform" / "checkov-skips.yaml").read_text())[
        "skips"
    ]
    assert all(s["reason"].strip() for s in skips)

    def skipped(check_id: str, resource: str) -> bool:
        return any(
            s["id"] == check_id and any(fnmatch(resource, p) for p in s["resources"]) for s in skips
        )

    unexplained = sorted({f for f in failures if not skipped(*f)})
    assert not unexplained, f"checkov failures without a documented skip: {unexplained}"
    stale = [s["id"] for s in skips if not any(f[0] == s["id"] for f in failures)]
    assert not stale, f"skips that no longer match a failure (remove them): {stale}"


# ------------------------------------------------------------------ destroy (last)


def test_destroy_leaves_nothing_of_the_stage(cycle: dict[str, Any]) -> None:
    result = timed("destroy", "destroy-tf", *cycle["inputs"], f"CONFIRM={STAGE}", env=cycle["env"])
    cycle["destroyed"] = True
    must(result)
    lam, s3 = aws(cycle, "lambda"), aws(cycle, "s3")
    functions = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert functions == {f"{APP}-{STAGE}-rotate-database"}  # the test's stand-in
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [
        f"{APP}-tfstate-123456789012-us-east-1"
    ]
    assert aws(cycle, "sqs").list_queues().get("QueueUrls", []) == []
    assert aws(cycle, "secretsmanager").list_secrets()["SecretList"] == []
    assert aws(cycle, "apigateway").get_rest_apis()["items"] == []
    assert aws(cycle, "apigateway").get_domain_names()["items"] == []
    assert aws(cycle, "events").list_rules()["Rules"] == []
    assert aws(cycle, "logs").describe_log_groups()["logGroups"] == []
    assert aws(cycle, "rds").describe_db_instances()["DBInstances"] == []
    assert aws(cycle, "elasticache").describe_cache_clusters()["CacheClusters"] == []
    assert aws(cycle, "cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert aws(cycle, "sns").list_topics()["Topics"] == []
    assert aws(cycle, "lambda").list_event_source_mappings()["EventSourceMappings"] == []
    assert not [v for v in aws(cycle, "ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]]
    roles = {r["RoleName"] for r in aws(cycle, "iam").list_roles()["Roles"]}
    assert not {r for r in roles if r.startswith(f"{APP}-")}
    aliases = {a["AliasName"] for a in aws(cycle, "kms").list_aliases()["Aliases"]}
    assert f"alias/{APP}-{STAGE}-alarms" not in aliases
    # Kept on purpose, as CloudFormation's DeletionPolicy: Snapshot keeps it.
    snapshots = aws(cycle, "rds").describe_db_snapshots()["DBSnapshots"]
    assert [s["DBSnapshotIdentifier"] for s in snapshots] == [f"{APP}-{STAGE}-final"]


def test_both_paths_compress_answers_above_the_configured_minimum(rendered: dict[str, Any]) -> None:
    """API Gateway gzips an answer of at least minimum_compression_size bytes for a client
    that accepts it (docs/api.md#compression): CloudFormation and Terraform both set it."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    minimum = config["minimum_compression_size"]
    assert isinstance(minimum, int) and 0 < minimum <= 10_485_760
    assert (
        rendered["sam"]["Resources"]["RestAPI"]["Properties"]["MinimumCompressionSize"] == minimum
    )
    (api,) = tf_resources(rendered, "aws_api_gateway_rest_api").values()
    assert api["minimum_compression_size"] == minimum
