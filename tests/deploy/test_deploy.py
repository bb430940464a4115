"""The deployment, proven offline: `chalice package` once per session, then cfn-lint,
checkov and the product's infrastructure requirements asserted on the templates."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from support.net import unavailable

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
STAGE = "prod"


def infra_stage() -> ModuleType:
    spec = importlib.util.spec_from_file_location("infra_stage", ROOT / "infra" / "stage.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The prod stage rendered from the example infra outputs and packaged (~2 s)."""
    out = tmp_path_factory.mktemp("package")
    stage = infra_stage()
    outputs = stage.load_outputs(ROOT / "infra" / "example-outputs.json")
    project = stage.render(STAGE, outputs, out)
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run(
        [
            str(VENV_BIN / "chalice"),
            "package",
            "--stage",
            STAGE,
            "--merge-template",
            str(out / "merge.json"),
            str(out / "app"),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        if "pypi" in result.stderr.lower() or "download" in result.stderr.lower():
            unavailable("the package registry (chalice package downloads wheels)", result.stderr)
        pytest.fail(f"chalice package failed:\n{result.stdout}\n{result.stderr}")
    shutil.copy(ROOT / "infra" / "infra.yaml", out / "infra.yaml")
    yield {
        "dir": out,
        "project": project,
        "outputs": outputs,
        "sam": json.loads((out / "app" / "sam.json").read_text()),
        "infra": yaml.safe_load((ROOT / "infra" / "infra.yaml").read_text()),
        "config": json.loads((project / ".chalice" / "config.json").read_text()),
    }


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def functions(packaged: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources(packaged["sam"], "AWS::Serverless::Function")


# ------------------------------------------------------------------ linters


def test_cfn_lint_has_no_error_on_either_template(packaged: dict[str, Any]) -> None:
    templates = [packaged["dir"] / "app" / "sam.json", packaged["dir"] / "infra.yaml"]
    result = subprocess.run(
        [str(VENV_BIN / "cfn-lint"), "--format", "parseable", *map(str, templates)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    findings = [line for line in result.stdout.splitlines() if line.strip()]
    errors = [f for f in findings if re.search(r":E\d{4}:", f)]
    assert not errors, "\n".join(errors)
    assert not findings, "cfn-lint warnings:\n" + "\n".join(findings)


def checkov_failures(template: Path) -> list[tuple[str, str]]:
    if not CHECKOV.exists():
        unavailable("checkov", f"{CHECKOV} is missing: run `make checkov-venv`")
    result = subprocess.run(
        [
            str(CHECKOV),
            "-f",
            str(template),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--quiet",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    return [
        (check["check_id"], check["resource"])
        for r in reports
        for check in r["results"]["failed_checks"]
    ]


def test_checkov_fails_nothing_but_the_documented_skips(packaged: dict[str, Any]) -> None:
    skips = yaml.safe_load((ROOT / "infra" / "checkov-skips.yaml").read_text())["skips"]
    assert all(skip["reason"].strip() for skip in skips)
    failures = checkov_failures(packaged["dir"] / "app" / "sam.json")
    failures += checkov_failures(packaged["dir"] / "infra.yaml")

    def skipped(check_id: str, resource: str) -> bool:
        return any(
            s["id"] == check_id and any(fnmatch(resource, p) for p in s["resources"]) for s in skips
        )

    unexplained = [f for f in failures if not skipped(*f)]
    assert not unexplained, f"checkov failures without a documented skip: {unexplained}"
    stale = [s["id"] for s in skips if not any(f[0] == s["id"] for f in failures)]
    assert not stale, f"skips that no longer match a failure (remove them): {stale}"


# ------------------------------------------------------------------ the Chalice stack


def test_custom_domain_is_tls_1_2_and_regional(packaged: dict[str, Any]) -> None:
    (domain,) = resources(packaged["sam"], "AWS::ApiGateway::DomainName").values()
    assert domain["Properties"]["SecurityPolicy"] == "TLS_1_2"
    assert domain["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert domain["Properties"]["DomainName"] == packaged["outputs"]["DomainName"]
    api = packaged["sam"]["Resources"]["RestAPI"]["Properties"]
    assert api["EndpointConfiguration"] == "REGIONAL"
    assert api["TracingEnabled"] is True
    (throttle,) = api["MethodSettings"]
    assert throttle["ThrottlingRateLimit"] > 0 and throttle["ThrottlingBurstLimit"] > 0


def test_every_function_logs_for_7_days_in_a_log_group_that_exists(
    packaged: dict[str, Any],
) -> None:
    groups = resources(packaged["sam"], "AWS::Logs::LogGroup")
    names = {}
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 7
        names[group["Properties"]["LogGroupName"]["Fn::Sub"]] = group
    for logical_id in functions(packaged):
        # aws/chalice#2079: the REST handler's group named ${ApiHandler}, which does not exist
        assert f"/aws/lambda/${{{logical_id}}}" in names, logical_id
    assert len(groups) == len(functions(packaged))


def test_the_functions_have_their_settings(packaged: dict[str, Any]) -> None:
    found = functions(packaged)
    assert {"APIHandler", "TaskWorker", "DailyPurge", "DailyHealthCheck"} <= set(found)
    for fn in found.values():
        p = fn["Properties"]
        assert p["Tracing"] == "Active"
        assert p["ReservedConcurrentExecutions"] >= 1
        assert p["FunctionName"].startswith("textfiles-prod")
    assert found["TaskWorker"]["Properties"]["Timeout"] >= 840  # near the 15-minute cap
    assert found["APIHandler"]["Properties"]["Timeout"] <= 29  # under API Gateway's limit


def test_daily_schedules(packaged: dict[str, Any]) -> None:
    schedules = {
        name: event["Properties"]["Schedule"]
        for name, fn in functions(packaged).items()
        for event in fn["Properties"].get("Events", {}).values()
        if event["Type"] == "Schedule"
    }
    assert set(schedules) == {"DailyPurge", "DailyHealthCheck"}
    for expression in schedules.values():
        assert expression == "rate(1 day)" or re.fullmatch(
            r"cron\(\d+ \d+ \* \* \? \*\)", expression
        )


def test_the_worker_consumes_the_queue_that_has_a_dead_letter_queue(
    packaged: dict[str, Any],
) -> None:
    events = functions(packaged)["TaskWorker"]["Properties"]["Events"]
    (sqs,) = [e for e in events.values() if e["Type"] == "SQS"]
    assert sqs["Properties"]["BatchSize"] == 1
    assert sqs["Properties"]["Queue"]["Fn::Sub"].endswith(":textfiles-tasks")
    queues = packaged["infra"]["Resources"]
    queue = queues["TaskQueue"]["Properties"]
    assert queue["QueueName"] == "textfiles-tasks"
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["TaskDeadLetterQueue", "Arn"]
    }
    assert queues["TaskDeadLetterQueue"]["Properties"]["QueueName"] == "textfiles-tasks-dlq"
    timeout = functions(packaged)["TaskWorker"]["Properties"]["Timeout"]
    assert queue["VisibilityTimeout"] >= timeout  # Lambda refuses a shorter one


def test_database_using_functions_run_in_the_private_subnets(packaged: dict[str, Any]) -> None:
    outputs = packaged["outputs"]
    for name in ("APIHandler", "TaskWorker", "DailyPurge"):
        vpc = functions(packaged)[name]["Properties"]["VpcConfig"]
        assert vpc["SubnetIds"] == [outputs["PrivateSubnet1Id"], outputs["PrivateSubnet2Id"]]
        assert vpc["SecurityGroupIds"] == [outputs["FunctionSecurityGroupId"]]


def test_environments_hold_no_secret_value(packaged: dict[str, Any]) -> None:
    allowed = re.compile(r"^(arn:aws:secretsmanager:[^:]+:\d{12}:secret:[\w/+=.@-]+|[\w./:-]+)$")
    for name, fn in functions(packaged).items():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        for key, value in env.items():
            assert not re.search(r"PASSWORD|_KEY$|TOKEN|DATABASE_URL", key), (name, key)
            assert allowed.match(value), (name, key, value)
            if "SECRET" in key:
                assert value.startswith("arn:aws:secretsmanager:"), (name, key)
            assert "@" not in value and "password" not in value.lower(), (name, key)
    hc = functions(packaged)["DailyHealthCheck"]["Properties"]["Environment"]["Variables"]
    assert hc["HEALTHCHECK_BASE_URL"].startswith("https://")
    assert hc["ALERT_URL"].startswith("https://")


def test_no_secret_value_anywhere_in_the_templates(packaged: dict[str, Any]) -> None:
    for path in [packaged["dir"] / "app" / "sam.json", ROOT / "infra" / "infra.yaml"]:
        text = path.read_text()
        assert not re.search(r"(?i)\"?(password|api_?key)\"?\s*[:=]\s*\"[^{\"]", text), path
        assert "SecretString:" not in text or "{{resolve:secretsmanager" in text
    infra = packaged["infra"]["Resources"]
    for secret in resources(packaged["infra"], "AWS::SecretsManager::Secret").values():
        assert "SecretString" not in secret["Properties"]  # generated, never written
        assert "GenerateSecretString" in secret["Properties"]
    db = infra["Database"]["Properties"]
    assert "resolve:secretsmanager" in db["MasterUserPassword"]["Fn::Sub"]


def test_policies_in_the_template_are_the_rendered_files(packaged: dict[str, Any]) -> None:
    roles = resources(packaged["sam"], "AWS::IAM::Role")
    assert "DefaultRole" not in roles  # no autogenerated Resource "*" policy
    for name, fn in functions(packaged).items():
        role = fn["Properties"]["Role"]["Fn::GetAtt"][0]
        (policy,) = roles[role]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Resource"] != "*" or all(
                a.startswith(("xray:", "ec2:")) for a in statement["Action"]
            ), name


# ------------------------------------------------------------------ the infra stack


def _ingress(infra: dict[str, Any], group: str) -> list[dict[str, Any]]:
    rules = list(infra["Resources"][group]["Properties"].get("SecurityGroupIngress", []))
    for r in resources(infra, "AWS::EC2::SecurityGroupIngress").values():
        if r["Properties"]["GroupId"] == {"Ref": group}:
            rules.append(r["Properties"])
    return rules


def test_database_and_cache_are_reachable_only_from_the_functions(
    packaged: dict[str, Any],
) -> None:
    infra = packaged["infra"]
    sources = {
        "DatabaseSecurityGroup": [
            {"Ref": "FunctionSecurityGroup"},
            {"Ref": "DatabaseProxySecurityGroup"},
        ],
        "DatabaseProxySecurityGroup": [{"Ref": "FunctionSecurityGroup"}],
        "CacheSecurityGroup": [{"Ref": "FunctionSecurityGroup"}],
    }
    for group, port in (
        ("DatabaseSecurityGroup", 5432),
        ("DatabaseProxySecurityGroup", 5432),
        ("CacheSecurityGroup", 11211),
    ):
        rules = _ingress(infra, group)
        assert [rule["SourceSecurityGroupId"] for rule in rules] == sources[group], group
        for rule in rules:
            assert rule["FromPort"] == rule["ToPort"] == port
            assert "CidrIp" not in rule
    db = infra["Resources"]["Database"]["Properties"]
    assert db["PubliclyAccessible"] is False and db["StorageEncrypted"] is True
    assert db["VPCSecurityGroups"] == [{"Ref": "DatabaseSecurityGroup"}]
    params = infra["Resources"]["DatabaseParameters"]["Properties"]["Parameters"]
    assert params["rds.force_ssl"] == "1"
    # slow or failing statements are logged without their parameters (file bodies)
    assert params["log_parameter_max_length"] == params["log_parameter_max_length_on_error"] == "0"
    cache = infra["Resources"]["Cache"]["Properties"]
    assert cache["VpcSecurityGroupIds"] == [{"Ref": "CacheSecurityGroup"}]
    # no route to the internet: no internet gateway, no public subnet
    assert not resources(infra, "AWS::EC2::InternetGateway")
    endpoints = {
        r["Properties"]["ServiceName"]["Fn::Sub"].rsplit(".", 1)[1]
        for r in resources(infra, "AWS::EC2::VPCEndpoint").values()
    }
    assert {"s3", "sqs", "secretsmanager", "xray"} <= endpoints


def test_files_bucket_expires_after_61_days_and_is_private_and_tls_only(
    packaged: dict[str, Any],
) -> None:
    """61 days: a body is current for at most RETENTION_DAYS after its write, then kept at
    most RETENTION_DAYS more as a superseded or trashed version (docs/history.md); S3 counts
    from the object's creation, so a shorter rule could delete a body the API still promises."""
    from chalicelib import settings_table

    retention = int(settings_table.GROUPS["app"]["RETENTION_DAYS"][0])
    infra = packaged["infra"]["Resources"]
    bucket = infra["FilesBucket"]["Properties"]
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["ExpirationInDays"] == 2 * retention + 1 == 61
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    statements = infra["FilesBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def test_files_bucket_lets_the_web_page_use_presigned_links(packaged: dict[str, Any]) -> None:
    """The page PUTs uploads and follows a large file's redirect from the browser."""
    (rule,) = packaged["infra"]["Resources"]["FilesBucket"]["Properties"]["CorsConfiguration"][
        "CorsRules"
    ]
    assert {"GET", "PUT"} <= set(rule["AllowedMethods"])
    (origin,) = rule["AllowedOrigins"]
    assert origin == {"Fn::If": ["HasDomain", {"Fn::Sub": "https://${DomainName}"}, "*"]}
    assert "content-type" in rule["AllowedHeaders"]


def test_alarms_on_health_check_failure_and_dead_letters(packaged: dict[str, Any]) -> None:
    alarms = resources(packaged["infra"], "AWS::CloudWatch::Alarm")
    health = alarms["HealthCheckAlarm"]["Properties"]
    assert (health["Namespace"], health["MetricName"]) == ("textfiles", "HealthCheckSuccess")
    assert health["TreatMissingData"] == "breaching"  # a check that did not run is a failure
    dlq = alarms["DeadLetterQueueAlarm"]["Properties"]
    assert dlq["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["TaskDeadLetterQueue", "QueueName"]}
    logs = resources(packaged["infra"], "AWS::Logs::LogGroup")
    assert all(g["Properties"]["RetentionInDays"] == 7 for g in logs.values())


def test_the_infra_outputs_feed_every_token(packaged: dict[str, Any]) -> None:
    declared = set(packaged["infra"]["Outputs"])
    assert set(packaged["outputs"]) - {"_comment"} <= declared
    text = (packaged["project"] / ".chalice" / "config.json").read_text()
    text += "".join(p.read_text() for p in (packaged["project"] / ".chalice").glob("*.json"))
    assert "${" not in text
    used = set()
    for path in [ROOT / "infra" / "wiring.json", ROOT / ".chalice" / "config.json"]:
        used |= set(re.findall(r"\$\{infra:(\w+)\}", path.read_text()))
    for path in (ROOT / ".chalice").glob("policy-*.json"):
        used |= set(re.findall(r"\$\{infra:(\w+)\}", path.read_text()))
    assert used <= declared, used - declared


def test_render_refuses_a_missing_output(tmp_path: Path) -> None:
    stage = infra_stage()
    outputs = stage.load_outputs(ROOT / "infra" / "example-outputs.json")
    del outputs["DatabaseSecretArn"]
    with pytest.raises(stage.RenderError, match="DatabaseSecretArn"):
        stage.render(STAGE, outputs, tmp_path)


def test_terraform_packaging_status_is_documented() -> None:
    text = (ROOT / "docs" / "deploy.md").read_text()
    assert "--pkg-format terraform" in text and "UnsupportedFeatureError" in text


def test_the_functions_reach_the_database_through_rds_proxy_with_iam_and_tls(
    packaged: dict[str, Any],
) -> None:
    """The proxy requires TLS and IAM tokens, logs in to PostgreSQL with the application
    role's secret, and pools at most 75% of the instance's connections: whatever the API's
    reserved concurrency, a burst waits for the pool instead of exhausting the database."""
    infra = packaged["infra"]
    proxy = infra["Resources"]["DatabaseProxy"]["Properties"]
    assert proxy["RequireTLS"] is True and proxy["EngineFamily"] == "POSTGRESQL"
    assert proxy["VpcSecurityGroupIds"] == [{"Ref": "DatabaseProxySecurityGroup"}]
    (auth,) = proxy["Auth"]
    assert auth["IAMAuth"] == "REQUIRED"
    assert auth["SecretArn"] == {"Ref": "AppDatabaseSecret"}
    role = infra["Resources"]["DatabaseProxyRole"]["Properties"]
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Resource"] == {"Ref": "AppDatabaseSecret"}
    targets = infra["Resources"]["DatabaseProxyTargets"]["Properties"]
    assert targets["DBInstanceIdentifiers"] == [{"Ref": "Database"}]
    pool = targets["ConnectionPoolConfigurationInfo"]
    assert pool["MaxConnectionsPercent"] <= 75  # the rest: admin, rotation, RDS itself
    assert pool["ConnectionBorrowTimeout"] <= 10  # a wait shorter than the API's timeout
    egress = infra["Resources"]["DatabaseProxySecurityGroup"]["Properties"]["SecurityGroupEgress"]
    assert [rule["DestinationSecurityGroupId"] for rule in egress] == [
        {"Ref": "DatabaseSecurityGroup"}
    ]
    for name in ("api_handler", "task_worker", "daily_purge"):
        env = packaged["config"]["stages"][STAGE]["lambda_functions"][name]["environment_variables"]
        assert env["DATABASE_PROXY_ENDPOINT"], name
    admin = packaged["config"]["stages"][STAGE]["lambda_functions"]["admin"]
    assert "DATABASE_PROXY_ENDPOINT" not in admin["environment_variables"]  # the owner, direct


def test_every_concurrency_bound_is_the_stage_setting(packaged: dict[str, Any]) -> None:
    """Spend guards of the deployment: reserved concurrency per function, the SQS event
    source's maximum concurrency, and API Gateway stage throttling, all from settings."""
    limits = infra_stage().stage_limits(STAGE)
    config = packaged["config"]["stages"][STAGE]["lambda_functions"]
    found = functions(packaged)
    names = {
        "APIHandler": "api_handler",
        "TaskWorker": "task_worker",
        "DailyPurge": "daily_purge",
        "DailyHealthCheck": "daily_health_check",
    }
    for logical, name in names.items():
        reserved = found[logical]["Properties"]["ReservedConcurrentExecutions"]
        assert reserved == config[name]["reserved_concurrency"], logical
    (sqs,) = [e for e in found["TaskWorker"]["Properties"]["Events"].values() if e["Type"] == "SQS"]
    maximum = sqs["Properties"]["ScalingConfig"]["MaximumConcurrency"]
    assert maximum == limits["sqs_maximum_concurrency"]
    assert 2 <= maximum <= config["task_worker"]["reserved_concurrency"]
    (throttle,) = packaged["sam"]["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    assert throttle["ThrottlingRateLimit"] == limits["throttling_rate_limit"]
    assert throttle["ThrottlingBurstLimit"] == limits["throttling_burst_limit"]
    assert (throttle["ResourcePath"], throttle["HttpMethod"]) == ("/*", "*")


def test_the_zip_ships_bytecode_and_stays_lean(packaged: dict[str, Any], tmp_path: Path) -> None:
    """What `make package` ships: every module precompiled for the Lambda Python, ≤ 1.3 MB
    (the dependencies about 640 KB of it; the change feed, Idempotency-Key, names, ranges and
    streamed uploads added about 60 KB of our own)."""
    import zipfile

    lean = tmp_path / "lean.zip"
    subprocess.run(
        [
            str(VENV_BIN / "python"),
            str(ROOT / "tools" / "precompile_zip.py"),
            str(packaged["dir"] / "app" / "deployment.zip"),
            "-o",
            str(lean),
            "--exclude",
            "tzdata/",
            "--exclude",
            "tzdata-",
            "--sourceless-deps",
        ],
        check=True,
        capture_output=True,
    )
    assert lean.stat().st_size <= 1_300_000
    names = set(zipfile.ZipFile(lean).namelist())
    tag = sys.implementation.cache_tag
    for name in ("app.py", "chalicelib/files/writes.py", "chalicelib/edge/http.py"):
        folder, _, module = name.rpartition("/")
        cached = f"{folder + '/' if folder else ''}__pycache__/{module[:-3]}.{tag}.pyc"
        assert name in names and cached in names, name
    assert "pg8000/native.pyc" in names, "libraries ship as bytecode only (sourceless)"
    assert "pg8000/native.py" not in names
    assert not any(n.startswith("tzdata/") for n in names)
    for name in names:
        if name.endswith(".py"):
            folder, _, module = name.rpartition("/")
            cached = f"{folder + '/' if folder else ''}__pycache__/{module[:-3]}.{tag}.pyc"
            assert cached in names, f"{name} has no bytecode"

    unpacked = tmp_path / "task"
    zipfile.ZipFile(lean).extractall(unpacked)
    probe = (
        f"import sys; sys.path.insert(0, {str(unpacked)!r});"
        "import app, pg8000.native, pymemcache.client.base, chalicelib.files.writes;"
        f"print(all(m.__file__.startswith({str(unpacked)!r}) for m in (app, pg8000.native)),"
        " pg8000.native.__file__.endswith('.pyc'))"
    )
    result = subprocess.run(
        [str(VENV_BIN / "python"), "-I", "-B", "-c", probe],
        cwd=unpacked,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


# ------------------------------------------------------------------ arm64


def test_every_function_runs_on_arm64(packaged: dict[str, Any]) -> None:
    """Graviton: about 20% cheaper per GB-second; the package is pure Python."""
    for name, function in functions(packaged).items():
        assert function["Properties"].get("Architectures") == ["arm64"], name


def test_chalice_deploy_gets_arm64_too(tmp_path: Path, moto: Any) -> None:
    """`make deploy` puts each function `chalice deploy` made on arm64 (against moto)."""
    import io
    import zipfile

    from conftest import moto_client

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return event\n")
    (tmp_path / ".chalice" / "deployments").mkdir(parents=True)
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"  # as Chalice names it
    (tmp_path / ".chalice" / "deployments" / f"abc-{runtime}.zip").write_bytes(code.getvalue())
    iam = moto_client("iam", moto.endpoint)
    role = iam.create_role(RoleName="arm64-test", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client = moto_client("lambda", moto.endpoint)
    arn = client.create_function(
        FunctionName="textfiles-arm64-test", Runtime=runtime, Role=role,
        Handler="app.handler", Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]  # fmt: skip
    state = {"resources": [{"name": "api_handler", "lambda_arn": arn}, {"name": "x"}]}
    (tmp_path / ".chalice" / "deployed").mkdir()
    (tmp_path / ".chalice" / "deployed" / "prod.json").write_text(json.dumps(state))
    sent: list[dict[str, Any]] = []
    event = "provide-client-params.lambda.UpdateFunctionCode"
    client.meta.events.register(event, lambda params, **_: sent.append(params))
    infra_stage().run_on_arm64(tmp_path, "prod", client)
    # moto 5 accepts UpdateFunctionCode but does not store Architectures: check the request.
    assert [(c["FunctionName"], c["Architectures"]) for c in sent] == [(arn, ["arm64"])]
    assert "infra/stage.py arm64 --stage" in (ROOT / "mk" / "deploy.mk").read_text()


# ------------------------------------------------------------------ issue #11: the infra stack


def test_alarm_topic_uses_a_key_cloudwatch_may_use(packaged: dict[str, Any]) -> None:
    """alias/aws/sns cannot be used by CloudWatch: alarm notifications would never arrive."""
    infra = packaged["infra"]["Resources"]
    key_ref = infra["AlarmTopic"]["Properties"]["KmsMasterKeyId"]
    assert key_ref == {"Ref": "AlarmTopicKey"}
    key = infra["AlarmTopicKey"]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    grants = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if "cloudwatch.amazonaws.com" in s["Principal"].get("Service", [])
    ]
    assert grants and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(grants[0]["Action"])


def test_a_monthly_budget_alerts_the_alarm_topic(packaged: dict[str, Any]) -> None:
    infra = packaged["infra"]["Resources"]
    (budget,) = resources(packaged["infra"], "AWS::Budgets::Budget").values()
    assert budget["Properties"]["Budget"]["TimeUnit"] == "MONTHLY"
    assert budget["Properties"]["Budget"]["BudgetLimit"]["Amount"] == {"Ref": "MonthlyBudgetUsd"}
    subscribers = [
        s for n in budget["Properties"]["NotificationsWithSubscribers"] for s in n["Subscribers"]
    ]
    assert subscribers and all(s["Address"] == {"Ref": "AlarmTopic"} for s in subscribers)
    (statement,) = infra["AlarmTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert "budgets.amazonaws.com" in statement["Principal"]["Service"]


def test_the_custom_domain_alias_record_is_in_the_infra_stack(packaged: dict[str, Any]) -> None:
    infra = packaged["infra"]
    (record,) = resources(infra, "AWS::Route53::RecordSet").values()
    assert record["Properties"]["Name"] == {"Ref": "DomainName"}
    assert record["Properties"]["AliasTarget"]["DNSName"] == {"Ref": "ApiTargetDomainName"}
    assert record["Condition"] == "HasApiTarget"
    make = (ROOT / "mk" / "deploy.mk").read_text()
    steps = r"package app-deploy infra-dns deploy-migrate deploy-health-key"
    assert re.search(rf"^deploy:.*{steps}$", make, re.M)


def test_without_a_domain_the_health_check_url_is_not_https_nothing(tmp_path: Path) -> None:
    """dev has no domain: the output is absent (not `https://`), render leaves the URL for
    `make deploy` to set to the stage's execute-api URL."""
    infra = yaml.safe_load((ROOT / "infra" / "infra.yaml").read_text())
    assert infra["Outputs"]["HealthcheckBaseUrl"]["Condition"] == "HasHealthcheckTarget"
    stage = infra_stage()
    outputs = stage.load_outputs(ROOT / "infra" / "example-outputs.json")
    for name in ("HealthcheckBaseUrl", "DomainName", "CertificateArn"):
        del outputs[name]
    project = stage.render("dev", outputs, tmp_path)
    config = json.loads((project / ".chalice" / "config.json").read_text())
    env = config["stages"]["dev"]["lambda_functions"]["daily_health_check"]
    assert env["environment_variables"]["HEALTHCHECK_BASE_URL"] == ""


def test_the_rotation_function_logs_7_days(packaged: dict[str, Any]) -> None:
    infra = packaged["infra"]["Resources"]
    group = infra["RotationLogGroup"]["Properties"]
    rotation = infra["DatabaseSecretRotation"]
    name = rotation["Properties"]["HostedRotationLambda"]["RotationLambdaName"]["Fn::Sub"]
    assert group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{name}"}
    assert group["RetentionInDays"] == 7
    assert "RotationLogGroup" in rotation["DependsOn"]


def test_memcached_is_pinned_to_one_node(packaged: dict[str, Any]) -> None:
    """The app uses MemcachedServers as one server: more nodes would serve nothing."""
    (cache,) = resources(packaged["infra"], "AWS::ElastiCache::CacheCluster").values()
    assert cache["Properties"]["NumCacheNodes"] == 1
    assert "one node" in (ROOT / "docs" / "deploy.md").read_text().lower()


def test_sam_mapping_waits_for_its_stage_and_the_default_endpoint_is_off(
    packaged: dict[str, Any],
) -> None:
    sam = packaged["sam"]["Resources"]
    (name,) = [k for k, v in sam.items() if v["Type"] == "AWS::ApiGateway::BasePathMapping"]
    stage = sam[name]["Properties"]["Stage"]
    assert f"RestAPI{stage}Stage" in sam[name]["DependsOn"]
    assert sam["RestAPI"]["Properties"]["DisableExecuteApiEndpoint"] is True


# ------------------------------------------------------------------ bootstrap and make


def test_bootstrap_template_lints_and_grants_what_the_deploy_needs() -> None:
    path = ROOT / "infra" / "bootstrap.yaml"
    result = subprocess.run(
        [str(VENV_BIN / "cfn-lint"), "--format", "parseable", str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout
    template = yaml.safe_load(path.read_text())
    assert resources(template, "AWS::IAM::OIDCProvider")
    trust = template["Resources"]["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    statements = {
        s["Sid"]: s
        for policy in resources(template, "AWS::IAM::ManagedPolicy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    }
    assert (
        "serverlessrepo:CreateCloudFormationTemplate" in statements["RotationApplication"]["Action"]
    )
    assert "lambda:CreateFunction" in statements["RotationFunction"]["Action"]
    passed = statements["PassTheFlowLogAndRotationRoles"]
    assert passed["Action"] == "iam:PassRole" and any(
        "FlowLogRole" in r["Fn::Sub"] for r in passed["Resource"]
    )
    assert "lambda:GetAccountSettings" in statements["EventSourceMappingsAndQuota"]["Action"]
    wildcard = [
        s["Sid"] for s in statements.values() if "*" in str(s["Action"]).replace("Describe*", "")
    ]
    assert wildcard == [], wildcard


def _make(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=ROOT, env=env or dict(os.environ),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_prod_deploy_without_a_domain_stops_at_once() -> None:
    result = _make("deploy", "STAGE=prod", "ALERT_URL=https://alerts.example.com", "AWS=false")
    assert result.returncode != 0
    assert "DOMAIN_NAME" in result.stdout and "cloudformation" not in result.stdout


def test_make_package_offline_says_what_to_do(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none")}
    result = _make("package", "STAGE=prod", f"BUILD={tmp_path / 'build'}", env=env)
    assert result.returncode != 0
    assert "INFRA_OUTPUTS=infra/example-outputs.json" in result.stdout
    assert "You must specify a region" not in result.stdout + result.stderr


def test_a_route_the_api_lacks_is_a_404_that_never_echoes_the_key(
    packaged: dict[str, Any],
) -> None:
    answers = resources(packaged["sam"], "AWS::ApiGateway::GatewayResponse")
    kinds = {a["Properties"]["ResponseType"]: a["Properties"] for a in answers.values()}
    assert set(kinds) == {"MISSING_AUTHENTICATION_TOKEN", "INCOMPLETE_SIGNATURE"}
    for answer in kinds.values():
        assert answer["StatusCode"] == "404"
        assert answer["RestApiId"] == {"Ref": "RestAPI"}
        body = answer["ResponseTemplates"]["application/json"]
        assert '"Code": "NotFound"' in body and "$context.error" not in body


def test_chalice_deploy_sets_the_minimum_compression_size(packaged: dict[str, Any]) -> None:
    """`make deploy` (chalice deploy) patches minimumCompressionSize onto the REST API on every
    deploy from the app graph's value; `chalice package` puts it in the template."""
    from chalice.config import Config
    from chalice.deploy.appgraph import ApplicationGraphBuilder
    from chalice.deploy.models import RestAPI

    from app import app

    minimum = packaged["config"]["minimum_compression_size"]
    assert (
        packaged["sam"]["Resources"]["RestAPI"]["Properties"]["MinimumCompressionSize"] == minimum
    )
    config = Config(
        chalice_stage=STAGE,
        user_provided_params={"chalice_app": app, "project_dir": str(packaged["project"])},
        config_from_disk=packaged["config"],
    )
    graph = ApplicationGraphBuilder().build(config, STAGE)
    (api,) = [r for r in graph.dependencies() if isinstance(r, RestAPI)]
    assert api.minimum_compression == str(minimum)
