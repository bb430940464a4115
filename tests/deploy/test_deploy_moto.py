"""`make app-deploy` — everything `make deploy` runs after the infra stack — for real against
a moto server: the real `make`, chalice, botocore and boto3 clients over HTTP.

moto's CloudFormation cannot create infra/infra.yaml, so the infra stack's outputs come
from real moto resources made here (VPC, bucket, queues, secrets, certificate, deploy
bucket). moto's own gaps are patched in tests/support/moto_patches.py. One scenario, in order: a
first deploy that fails half-way (an injected fault), a re-run that converges, an update
from the state in the deploy bucket; then the deployed state is asserted through the API.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import moto_client
from support import moto_patches
from support.moto import AWS_ENV, MotoServer
from support.net import started

ROOT = Path(__file__).resolve().parents[2]
STAGE = "prod"
DOMAIN = "api.textfiles.example.com"
APP = "textfiles"
FUNCTIONS = {
    "textfiles-prod": 100,
    "textfiles-prod-task_worker": 5,
    "textfiles-prod-daily_purge": 1,
    "textfiles-prod-daily_health_check": 1,
    "textfiles-prod-admin": 1,
}


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    moto_patches.apply()
    server = started(MotoServer(), "moto server")
    yield server
    forget_infra(server)
    server.stop()


def forget_infra(moto: MotoServer) -> None:
    """moto keeps one state per process: leave no stage secret, queue or bucket behind for
    the suites that create the same names next (tests/deploy/test_lambda_runtime.py)."""
    secrets, sqs, s3 = client(moto, "secretsmanager"), client(moto, "sqs"), client(moto, "s3")
    for secret in secrets.list_secrets()["SecretList"]:
        if secret["Name"].startswith(f"{APP}/"):
            secrets.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)
    for name in ("textfiles-tasks", "textfiles-tasks-dlq"):
        for url in sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", []):
            if url.rsplit("/", 1)[1] == name:
                sqs.delete_queue(QueueUrl=url)
    for bucket in s3.list_buckets()["Buckets"]:
        if bucket["Name"].endswith("-x") and bucket["Name"].startswith(f"{APP}-"):
            for version in s3.list_object_versions(Bucket=bucket["Name"]).get("Versions", []):
                s3.delete_object(
                    Bucket=bucket["Name"], Key=version["Key"], VersionId=version["VersionId"]
                )
            s3.delete_bucket(Bucket=bucket["Name"])


def client(moto: MotoServer, service: str) -> Any:
    return moto_client(service, moto.endpoint)


def create_infra(moto: MotoServer, stage: str, domain: str | None) -> dict[str, str]:
    """The resources of the infra stack that the deploy touches, as its outputs."""
    ec2, s3, sqs = client(moto, "ec2"), client(moto, "s3"), client(moto, "sqs")
    secrets, acm = client(moto, "secretsmanager"), client(moto, "acm")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i * 16}.0/20")["Subnet"]["SubnetId"]
        for i in range(2)
    ]
    group = ec2.create_security_group(GroupName="fn", Description="fn", VpcId=vpc)["GroupId"]
    files, deploy = f"{APP}-{stage}-files-x", f"{APP}-{stage}-deploy-x"
    for bucket in (files, deploy):
        s3.create_bucket(Bucket=bucket)
    dlq = sqs.create_queue(QueueName="textfiles-tasks-dlq")["QueueUrl"]
    queue = sqs.create_queue(QueueName="textfiles-tasks")["QueueUrl"]

    def arn(url: str) -> str:
        return str(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
        )

    def secret(name: str) -> str:
        return str(secrets.create_secret(Name=f"textfiles/{stage}/{name}", SecretString="x")["ARN"])

    outputs = {
        "Partition": "aws", "Region": "us-east-1", "AccountId": "123456789012",
        "PrivateSubnet1Id": subnets[0], "PrivateSubnet2Id": subnets[1],
        "FunctionSecurityGroupId": group, "DatabaseSecretArn": secret("database"),
        "AppDatabaseSecretArn": secret("database-app"),
        "MemcachedServers": "cache.internal:11211", "FilesBucketName": files,
        "FilesBucketArn": f"arn:aws:s3:::{files}", "TaskQueueUrl": queue,
        "TaskQueueArn": arn(queue), "DeadLetterQueueArn": arn(dlq),
        "AlertApiKeySecretArn": secret("alert-api-key"),
        "HealthcheckApiKeySecretArn": secret("healthcheck-api-key"),
        "AlertUrl": "https://alerts.example.com/v1/events", "DeployStateBucketName": deploy,
        "AlarmTopicArn": f"arn:aws:sns:us-east-1:123456789012:textfiles-{stage}-alarms",
    }  # fmt: skip
    outputs |= database_proxy(moto, subnets, group, outputs["AppDatabaseSecretArn"])
    if domain:
        cert = acm.request_certificate(DomainName=domain, ValidationMethod="DNS")
        outputs |= {"DomainName": domain, "CertificateArn": cert["CertificateArn"],
                    "HealthcheckBaseUrl": f"https://{domain}"}  # fmt: skip
    return outputs


def database_proxy(moto: MotoServer, subnets: list[str], group: str, secret: str) -> dict[str, str]:
    """The stage's RDS Proxy in moto (IAM auth required, TLS), as the infra stack's outputs
    name it: its endpoint and the rds-db:connect resource of the application user."""
    proxy = client(moto, "rds").create_db_proxy(
        DBProxyName="textfiles-prod", EngineFamily="POSTGRESQL", RequireTLS=True,
        RoleArn="arn:aws:iam::123456789012:role/textfiles-prod-database-proxy",
        VpcSubnetIds=subnets, VpcSecurityGroupIds=[group],
        Auth=[{"AuthScheme": "SECRETS", "SecretArn": secret, "IAMAuth": "REQUIRED"}],
    )["DBProxy"]  # fmt: skip
    resource_id = proxy["DBProxyArn"].split(":")[6]
    return {
        "DatabaseProxyEndpoint": proxy["Endpoint"],
        "DatabaseProxyUserArn": (
            f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{resource_id}/textfiles_app"
        ),
    }


def app_deploy(
    moto: MotoServer, build: Path, outputs: Path, stage: str = STAGE
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **AWS_ENV, "AWS_ENDPOINT_URL": moto.endpoint}
    return subprocess.run(
        ["make", "--no-print-directory", "app-deploy", f"STAGE={stage}", f"BUILD={build}",
         f"INFRA_OUTPUTS={outputs}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def deployed(moto: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A failed first deploy, a converging re-run, then an update from the saved state."""
    build = tmp_path_factory.mktemp("deploy-prod")
    outputs = create_infra(moto, STAGE, DOMAIN)
    outputs_file = build / "infra-outputs.json"
    outputs_file.write_text(json.dumps(outputs))
    runs, before = [], {}
    moto_patches.fail_once("CreateDomainName")
    for n in range(3):
        if n == 2:  # the update meets the stage as a deploy on the old runtime left it
            before = on_the_old_runtime(moto, outputs)
        runs.append(app_deploy(moto, build, outputs_file))
    moto_patches.clear_faults()
    return {"outputs": outputs, "runs": runs, "build": build, "before": before}


OLD_RUNTIME = "python3.11"


def on_the_old_runtime(moto: MotoServer, outputs: dict[str, str]) -> dict[str, Any]:
    """Every function put back on python3.11 and a file body in the bucket, as a stage deployed
    before the runtime moved has them; what they were (ARNs, the object's ETag)."""
    lam, s3 = client(moto, "lambda"), client(moto, "s3")
    arns = {}
    for name in FUNCTIONS:
        config = lam.update_function_configuration(FunctionName=name, Runtime=OLD_RUNTIME)
        arns[name] = config["FunctionArn"]
    put = s3.put_object(Bucket=outputs["FilesBucketName"], Key="acme/kept", Body=b"kept\n")
    return {"arns": arns, "etag": put["ETag"]}


def test_a_failed_deploy_saves_its_state_and_a_rerun_converges(deployed: dict[str, Any]) -> None:
    failed, rerun, update = deployed["runs"]
    assert failed.returncode != 0 and "injected fault" in failed.stderr + failed.stdout
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert update.returncode == 0, update.stdout[-3000:] + update.stderr[-3000:]


def test_one_rest_api_and_one_event_source_mapping(
    moto: MotoServer, deployed: dict[str, Any]
) -> None:
    apis = client(moto, "apigateway").get_rest_apis()["items"]
    assert [a["name"] for a in apis] == [APP]
    mappings = [
        m
        for m in client(moto, "lambda").list_event_source_mappings()["EventSourceMappings"]
        if m["FunctionArn"].endswith(":function:textfiles-prod-task_worker")
    ]
    assert len(mappings) == 1
    assert mappings[0]["EventSourceArn"] == deployed["outputs"]["TaskQueueArn"]
    assert mappings[0]["ScalingConfig"] == {"MaximumConcurrency": 5}


def test_the_state_is_in_the_deploy_bucket(moto: MotoServer, deployed: dict[str, Any]) -> None:
    body = client(moto, "s3").get_object(
        Bucket=deployed["outputs"]["DeployStateBucketName"], Key=f"chalice/deployed/{STAGE}.json"
    )["Body"]
    kinds = sorted(r["resource_type"] for r in json.loads(body.read())["resources"])
    assert kinds.count("rest_api") == 1 and kinds.count("sqs_event") == 1
    assert kinds.count("lambda_function") == len(FUNCTIONS)


def test_functions_and_their_reserved_concurrency(
    moto: MotoServer, deployed: dict[str, Any]
) -> None:
    lam = client(moto, "lambda")
    names = {
        f["FunctionName"]
        for f in lam.list_functions()["Functions"]
        if f["FunctionName"].startswith("textfiles-prod")
    }
    assert names == set(FUNCTIONS)
    for name, reserved in FUNCTIONS.items():
        got = lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"]
        assert got == reserved, name


def test_an_existing_stage_gets_the_new_runtime_on_the_same_functions(
    moto: MotoServer, deployed: dict[str, Any]
) -> None:
    """The upgrade note of docs/deploy.md: `make deploy` moves a stage deployed on python3.11
    to the runtime in place (same functions, same ARNs) and touches no data."""
    lam, s3 = client(moto, "lambda"), client(moto, "s3")
    runtime = "python{}.{}".format(*sys.version_info[:2])  # make deploy's, as Chalice names it
    assert runtime != OLD_RUNTIME
    now = {}
    for name in FUNCTIONS:
        config = lam.get_function_configuration(FunctionName=name)
        now[name] = config["FunctionArn"]
        assert config["Runtime"] == runtime, name
    assert now == deployed["before"]["arns"]
    kept = s3.get_object(Bucket=deployed["outputs"]["FilesBucketName"], Key="acme/kept")
    assert kept["ETag"] == deployed["before"]["etag"] and kept["Body"].read() == b"kept\n"


def _log_grants(moto: MotoServer, function: str) -> list[dict[str, Any]]:
    iam, lam = client(moto, "iam"), client(moto, "lambda")
    role = lam.get_function_configuration(FunctionName=function)["Role"].split("/")[-1]
    statements = []
    for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        statements += document["Statement"]
    return [s for s in statements if "logs:PutLogEvents" in s["Action"]]


def test_every_function_logs_7_days_to_a_group_named_after_it(
    moto: MotoServer, deployed: dict[str, Any]
) -> None:
    groups = client(moto, "logs").describe_log_groups(
        logGroupNamePrefix="/aws/lambda/textfiles-prod"
    )
    retention = {g["logGroupName"]: g.get("retentionInDays") for g in groups["logGroups"]}
    assert retention == {f"/aws/lambda/{name}": 7 for name in FUNCTIONS}
    for name in FUNCTIONS:
        (grant,) = _log_grants(moto, name)
        assert (
            grant["Resource"]
            == f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{name}:*"
        )
        assert "logs:CreateLogStream" in grant["Action"]


def test_stage_throttling_tracing_and_metrics(moto: MotoServer, deployed: dict[str, Any]) -> None:
    gateway = client(moto, "apigateway")
    (api,) = gateway.get_rest_apis()["items"]
    stage = gateway.get_stage(restApiId=api["id"], stageName="api")
    assert stage["tracingEnabled"] is True
    settings = stage["methodSettings"]["*/*"]
    assert settings["throttlingRateLimit"] == 200 and settings["throttlingBurstLimit"] == 400
    assert settings["metricsEnabled"] is True


def test_custom_domain_tls_1_2_and_default_endpoint_off(
    moto: MotoServer, deployed: dict[str, Any]
) -> None:
    gateway = client(moto, "apigateway")
    domain = gateway.get_domain_name(domainName=DOMAIN)
    assert domain["securityPolicy"] == "TLS_1_2"
    (api,) = gateway.get_rest_apis()["items"]
    assert api["disableExecuteApiEndpoint"] is True
    (mapping,) = gateway.get_base_path_mappings(domainName=DOMAIN)["items"]
    assert mapping["restApiId"] == api["id"] and mapping["stage"] == "api"


def test_daily_schedules(moto: MotoServer, deployed: dict[str, Any]) -> None:
    events = client(moto, "events")
    rules = {
        r["Name"]: r["ScheduleExpression"]
        for r in events.list_rules(NamePrefix="textfiles-prod")["Rules"]
    }
    targets = {
        t["Arn"].split(":")[-1]
        for name in rules
        for t in events.list_targets_by_rule(Rule=name)["Targets"]
    }
    assert targets == {"textfiles-prod-daily_purge", "textfiles-prod-daily_health_check"}
    assert sorted(rules.values()) == ["cron(15 6 * * ? *)", "rate(1 day)"]


def test_a_small_concurrency_quota_stops_the_deploy_before_it_starts(
    moto: MotoServer, deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """prod reserves 108 and Lambda keeps 100 unreserved: an account below 208 is refused
    up front with the numbers and the fix, instead of failing half-way."""
    monkeypatch.setenv("MOTO_LAMBDA_CONCURRENCY_QUOTA", "150")  # read by the moto server
    project = deployed["build"] / "project"
    env = {**os.environ, **AWS_ENV, "AWS_ENDPOINT_URL": moto.endpoint}
    result = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "deploy_steps.py"),
         "preflight", "--stage", STAGE, "--project", str(project)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    for figure in ("150", "reserves 108", "at least 208", "L-B99A9384", "reserved_concurrency"):
        assert figure in result.stderr
    monkeypatch.setenv("MOTO_LAMBDA_CONCURRENCY_QUOTA", "208")
    ok = subprocess.run(result.args, env=env, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr


def test_without_a_domain_the_health_check_calls_the_execute_api_url(
    moto: MotoServer, deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stage without a custom domain (dev) renders an empty URL; `finish` sets it to the
    stage's own execute-api URL, which exists (the default endpoint stays on there)."""
    for name, value in {**AWS_ENV, "AWS_ENDPOINT_URL": moto.endpoint}.items():
        monkeypatch.setenv(name, value)
    # The step runs in a fresh process in `make deploy`: no default session of another test's.
    monkeypatch.setattr("boto3.DEFAULT_SESSION", None)
    spec = importlib.util.spec_from_file_location(
        "deploy_steps", ROOT / "infra" / "deploy_steps.py"
    )
    assert spec and spec.loader
    steps = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(steps)
    outputs = {k: v for k, v in deployed["outputs"].items() if k != "HealthcheckBaseUrl"}
    steps.point_health_check(outputs, deployed["build"] / "project", STAGE)
    (api,) = client(moto, "apigateway").get_rest_apis()["items"]
    config = client(moto, "lambda").get_function_configuration(
        FunctionName="textfiles-prod-daily_health_check"
    )
    url = config["Environment"]["Variables"]["HEALTHCHECK_BASE_URL"]
    assert url == f"https://{api['id']}.execute-api.us-east-1.amazonaws.com/api"


def test_the_alias_record_gets_the_domains_regional_target(
    moto: MotoServer, deployed: dict[str, Any]
) -> None:
    """`make infra-dns` passes these to the infra stack, which owns the Route 53 alias."""
    project = deployed["build"] / "project"
    result = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "deploy_steps.py"), "dns-target",
         "--stage", STAGE, "--project", str(project)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    domain = client(moto, "apigateway").get_domain_name(domainName=DOMAIN)
    assert result.stdout.split() == [
        f"ApiTargetDomainName={domain['regionalDomainName']}",
        f"ApiTargetHostedZoneId={domain['regionalHostedZoneId']}",
    ]


def test_a_route_the_api_lacks_is_a_404_in_our_shape(
    moto: MotoServer, deployed: dict[str, Any]
) -> None:
    gateway = client(moto, "apigateway")
    (api,) = gateway.get_rest_apis()["items"]
    for kind in ("MISSING_AUTHENTICATION_TOKEN", "INCOMPLETE_SIGNATURE"):
        answer = gateway.get_gateway_response(restApiId=api["id"], responseType=kind)
        assert answer["statusCode"] == "404"
        template = answer["responseTemplates"]["application/json"]
        assert '"Code": "NotFound"' in template
        assert "$context.error" not in template  # API Gateway's message echoes the header


def _grants(moto: MotoServer, function: str) -> list[dict[str, Any]]:
    iam, lam = client(moto, "iam"), client(moto, "lambda")
    role = lam.get_function_configuration(FunctionName=function)["Role"].split("/")[-1]
    statements = []
    for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        statements += document["Statement"]
    return statements


def test_the_database_functions_log_in_through_the_proxy_as_its_user_only(
    moto: MotoServer, deployed: dict[str, Any]
) -> None:
    """The API, the worker and the purge get the proxy's endpoint and rds-db:connect on the
    proxy's application user, nothing wider; the admin function (migrations, as the owner)
    and the health check get neither."""
    outputs, lam = deployed["outputs"], client(moto, "lambda")
    (proxy,) = client(moto, "rds").describe_db_proxies(DBProxyName="textfiles-prod")["DBProxies"]
    assert outputs["DatabaseProxyEndpoint"] == proxy["Endpoint"]
    assert outputs["DatabaseProxyUserArn"].endswith(
        ":dbuser:" + proxy["DBProxyArn"].split(":")[6] + "/textfiles_app"
    )
    for name in FUNCTIONS:
        config = lam.get_function_configuration(FunctionName=name)
        env = config["Environment"]["Variables"]
        proxied = name.endswith(("prod", "task_worker", "daily_purge"))
        assert env.get("DATABASE_PROXY_ENDPOINT") == (proxy["Endpoint"] if proxied else None)
        logins = [s for s in _grants(moto, name) if "rds-db:connect" in str(s["Action"])]
        if proxied:
            (login,) = logins
            assert login["Action"] in (["rds-db:connect"], "rds-db:connect"), name
            assert login["Resource"] in (
                [outputs["DatabaseProxyUserArn"]],
                outputs["DatabaseProxyUserArn"],
            ), name
        else:
            assert logins == [], name
