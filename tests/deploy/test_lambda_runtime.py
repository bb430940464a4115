"""The packaged zip, run as Lambda runs it (tests/support/lambda_rie.py), against TLS-only
PostgreSQL, memcached and moto: the API through an HTTPS stand-in for API Gateway, an
export through SQS to the worker, the daily health check and its alert."""

from __future__ import annotations

import io
import json
import subprocess
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conftest import moto_client
from support import api_gateway, lambda_rie
from support.api_gateway import ApiGateway, HttpsRecorder
from support.lambda_rie import LambdaApi, LambdaFunction
from support.memcached import MemcachedServer
from support.moto import AWS_ENV, MotoServer
from support.net import ServerUnavailable, started, unavailable
from support.postgres import PostgresServer

STAGE = "prod"
APP_ROLE = "textfiles_app"
TENANT = "acme"


@dataclass
class Deployment:
    """The stage as it runs here: functions under the emulator and their stand-ins."""

    tmp: Path
    sam: dict[str, Any]
    task_root: Path
    key: Path
    cert: Path
    endpoints: dict[str, str]
    postgres: PostgresServer
    moto: MotoServer
    secrets: dict[str, str] = field(default_factory=dict)  # name in the stage -> moto's ARN
    running: list[Any] = field(default_factory=list)

    def function(self, name: str, **overrides: str) -> LambdaFunction:
        props = lambda_rie.functions(self.sam)[name]
        variables = props.get("Environment", {}).get("Variables", {})
        secret_arns = {
            setting: self.secrets[_arn_name(value)]
            for setting, value in variables.items()
            if setting.endswith("_SECRET_ARN")
        }
        env = {**self.endpoints, **secret_arns, **overrides}
        fn = LambdaFunction(self.task_root, props, env)
        try:
            fn.start()
        except ServerUnavailable as exc:
            unavailable("the Lambda Runtime Interface Emulator", str(exc))
        self.running.append(fn)
        return fn

    def recorder(self) -> HttpsRecorder:
        recorder = HttpsRecorder(self.key, self.cert)
        self.running.append(recorder)
        return recorder

    def aws(self, service: str) -> Any:
        return moto_client(service, self.moto.endpoint)


def _arn_name(arn: str) -> str:
    """A secret's name from its ARN (``...:secret:NAME-XXXXXX``)."""
    return arn.split(":secret:", 1)[1].rsplit("-", 1)[0]


def _moto_resources(dep: Deployment, env: dict[str, str]) -> dict[str, str]:
    """The stage's bucket, queue and secrets in moto; the queue URL to point at it."""
    s3, sqs, sm = dep.aws("s3"), dep.aws("sqs"), dep.aws("secretsmanager")
    s3.create_bucket(Bucket=env["FILES_BUCKET"])
    queue = sqs.create_queue(QueueName=env["QUEUE_URL"].rsplit("/", 1)[1])["QueueUrl"]
    for fn in lambda_rie.functions(dep.sam).values():
        for name, value in fn.get("Environment", {}).get("Variables", {}).items():
            if name.endswith("_SECRET_ARN") and _arn_name(value) not in dep.secrets:
                created = sm.create_secret(Name=_arn_name(value), SecretString="placeholder")
                dep.secrets[_arn_name(value)] = created["ARN"]
    return {"QUEUE_URL": queue}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("lambda")
    try:
        app_dir = lambda_rie.package(STAGE, tmp / "build")
    except ServerUnavailable as exc:
        unavailable("make package", str(exc))
    sam = json.loads((app_dir / "sam.json").read_text())
    task_root = lambda_rie.unzip(app_dir, tmp / "task")
    key, cert = api_gateway.self_signed(tmp)
    postgres = started(PostgresServer(tls_only=True), "PostgreSQL")
    memcached = started(MemcachedServer(), "memcached")
    moto = started(MotoServer(), "moto server")
    dep = Deployment(tmp, sam, task_root, key, cert, {}, postgres, moto)
    try:
        api_env = lambda_rie.functions(sam)["api_handler"]["Environment"]["Variables"]
        dep.endpoints = {
            **AWS_ENV,
            "AWS_ENDPOINT_URL": moto.endpoint,
            "MEMCACHED_SERVERS": memcached.servers,
            "SSL_CERT_FILE": str(cert),  # the stand-ins' certificate, as a public CA's
            # PostgreSQL does not accept RDS Proxy's IAM tokens: the functions run here as on
            # a stage without the proxy, on the application role's secret (the token and the
            # connection settings are tests/backends/test_rds_token.py's).
            "DATABASE_PROXY_ENDPOINT": "",
            **_moto_resources(dep, api_env),
        }
        url = postgres.create_database("textfiles")
        _put_secret(dep, MASTER, json.dumps(_rds_secret(url)))
        app_login = {**_rds_secret(url), "username": APP_ROLE, "password": "app-password"}
        _put_secret(dep, APP, json.dumps(app_login))
        yield dep
    finally:
        for item in reversed(dep.running):
            item.stop()
        moto.stop()
        memcached.stop()
        postgres.stop()


def _rds_secret(url: str) -> dict[str, Any]:
    from chalicelib.db import postgres_settings

    s = postgres_settings(url)
    return {
        "username": s.user,
        "password": s.password,
        "host": s.host,
        "port": s.port,
        "dbname": s.database,
        "engine": "postgres",
    }


MASTER, APP = f"textfiles/{STAGE}/database", f"textfiles/{STAGE}/database-app"
HEALTH_KEY, ALERT_KEY = f"textfiles/{STAGE}/healthcheck-api-key", f"textfiles/{STAGE}/alert-api-key"


def _put_secret(dep: Deployment, name: str, value: str) -> None:
    dep.aws("secretsmanager").put_secret_value(SecretId=dep.secrets[name], SecretString=value)


@pytest.fixture(scope="module")
def gateway(deployment: Deployment) -> ApiGateway:
    api = deployment.function("api_handler")
    gateway = ApiGateway(deployment.key, deployment.cert, deployment.sam, api)
    deployment.running.append(gateway)
    return gateway


@dataclass
class Admin:
    function: LambdaFunction
    endpoint: str


@pytest.fixture(scope="module")
def admin(deployment: Deployment) -> Admin:
    function = deployment.function("admin")
    lambda_api = LambdaApi({function.props["FunctionName"]: function})
    deployment.running.append(lambda_api)
    admin = Admin(function, lambda_api.url)
    output = make(admin, "admin", "ARGS=migrate")  # as the owner: schema and the app role
    assert f"role {APP_ROLE}: login set" in output, output
    return admin


@pytest.fixture(scope="module")
def api_key(deployment: Deployment, admin: Admin) -> str:
    return make(admin, "key", f"TENANT={TENANT}").splitlines()[-1]


def make(admin: Admin, target: str, *variables: str, stage: str = STAGE) -> str:
    """`make TARGET STAGE=prod ...` as an operator runs it, Lambda's endpoint the emulator."""
    env = {
        **lambda_rie.os_environ_without_aws(),
        **AWS_ENV,
        "AWS_ENDPOINT_URL_LAMBDA": admin.endpoint,
    }
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", target, f"STAGE={stage}", *variables],
        cwd=lambda_rie.ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise MakeFailed(result.stdout + result.stderr)
    return result.stdout.strip()


class MakeFailed(AssertionError):
    """`make` exited with an error; the message is its output."""


def call(
    dep: Deployment,
    gateway: ApiGateway,
    method: str,
    path: str,
    key: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTPS request to the gateway stand-in; (status, headers, body)."""
    all_headers = {**(headers or {})}
    if key:
        all_headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(
        gateway.url + path, data=body, method=method, headers=all_headers
    )
    context = api_gateway.client_context(dep.cert)
    try:
        with urllib.request.urlopen(request, timeout=60, context=context) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


TEXT = {"Content-Type": "text/plain; charset=utf-8"}


def test_the_template_the_bytecode_and_the_emulator_name_one_python(
    deployment: Deployment,
) -> None:
    """The Lambda runtime (LAMBDA_PYTHON) everywhere that ships: every function's Runtime in
    sam.json, the Python that compiled the zip's .pyc files (magic number and tag), and the
    interpreter the emulator runs them with."""
    emulator = lambda_rie.python_of(lambda_rie.RUNTIME_PYTHON)
    assert emulator["version"] == lambda_rie.lambda_python()
    zip_path = deployment.tmp / "build" / "app" / "deployment.zip"
    assert lambda_rie.runtime_mismatches(deployment.sam, zip_path, emulator) == []


def test_crud_and_search_over_https(
    deployment: Deployment, gateway: ApiGateway, api_key: str
) -> None:
    dep, gw = deployment, gateway
    status, headers, body = call(
        dep, gw, "POST", "/files?name=notes.txt", api_key, "milk and eggs, café\n".encode(), TEXT
    )
    assert status == 201, body
    meta = json.loads(body)
    assert headers["Location"] == f"/files/{meta['id']}"
    status, headers, body = call(dep, gw, "GET", f"/files/{meta['id']}", api_key)
    assert (status, body.decode()) == (200, "milk and eggs, café\n")
    assert headers["ETag"] == meta["etag"]
    status, _, _ = call(
        dep, gw, "GET", f"/files/{meta['id']}", api_key, headers={"If-None-Match": meta["etag"]}
    )
    assert status == 304
    status, _, body = call(
        dep,
        gw,
        "PUT",
        f"/files/{meta['id']}",
        api_key,
        b"bread\n",
        {**TEXT, "If-Match": meta["etag"]},
    )
    assert status == 200 and json.loads(body)["version"] == 2
    status, _, body = call(
        dep,
        gw,
        "PATCH",
        f"/files/{meta['id']}",
        api_key,
        b'{"name": "list.txt"}',
        {"Content-Type": "application/json"},
    )
    assert status == 200 and json.loads(body)["name"] == "list.txt"
    status, _, body = call(dep, gw, "GET", "/files?q=bread", api_key)
    assert [m["name"] for m in json.loads(body)["items"]] == ["list.txt"]
    assert json.loads(call(dep, gw, "GET", "/files?q=milk", api_key)[2])["items"] == []
    assert call(dep, gw, "DELETE", f"/files/{meta['id']}", api_key)[0] == 204
    assert call(dep, gw, "GET", f"/files/{meta['id']}/metadata", api_key)[0] == 404
    assert call(dep, gw, "GET", "/files", "not-a-key")[0] == 401
    assert call(dep, gw, "GET", "/nowhere", api_key)[0] == 403  # API Gateway's answer


def test_a_large_file_reads_back_byte_for_byte(
    deployment: Deployment, gateway: ApiGateway, api_key: str
) -> None:
    """A body at the inline limit travels inline both ways (base64: a fixed 4/3)."""
    limit = 4 * 1024 * 1024  # MAX_INLINE_BYTES' default
    line = "the quick brown fox \u2014 jumps over the lazy dog 0123456789\n"
    data = (line * (limit // len(line.encode()) + 1)).encode()[:limit]
    data = data.decode("utf-8", "ignore").encode()
    status, _, body = call(deployment, gateway, "POST", "/files?name=big.txt", api_key, data, TEXT)
    assert status == 201, body
    file_id = json.loads(body)["id"]
    status, headers, body = call(deployment, gateway, "GET", f"/files/{file_id}", api_key)
    assert status == 200 and body == data
    assert headers["Content-Type"].startswith("text/plain")
    too_big = b"x" * (api_gateway.MAX_REQUEST_BYTES + 1)
    status, _, _ = call(deployment, gateway, "POST", "/files?name=huge.txt", api_key, too_big, TEXT)
    assert status == 413


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_an_uploaded_file_past_the_response_limit_reads_back_through_a_redirect(
    deployment: Deployment, gateway: ApiGateway, api_key: str
) -> None:
    """7 MiB cannot be a Lambda response: the API answers with a presigned GET instead."""
    dep, data = deployment, ("\u00e9t\u00e9\n" * (7 * 1024 * 1024 // 7)).encode()
    path = f"/files/uploads?name=upload.txt&size={len(data)}"
    status, _, body = call(dep, gateway, "POST", path, api_key)
    assert status == 201, body
    link = json.loads(body)
    put = urllib.request.Request(link["url"], data=data, method="PUT", headers=link["headers"])
    with urllib.request.urlopen(put, timeout=60) as response:
        assert response.status == 200
    status, _, body = call(dep, gateway, "POST", link["complete_url"], api_key)
    assert status == 201, body
    file_id = json.loads(body)["id"]
    opener = urllib.request.build_opener(
        _NoRedirect, urllib.request.HTTPSHandler(context=api_gateway.client_context(dep.cert))
    )
    request = urllib.request.Request(
        f"{gateway.url}/files/{file_id}", headers={"Authorization": f"Bearer {api_key}"}
    )
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(request, timeout=60)
    assert redirect.value.code == 307
    with urllib.request.urlopen(redirect.value.headers["Location"], timeout=60) as response:
        assert response.read() == data


def test_a_20_mib_replace_through_an_upload_reads_back_byte_for_byte(
    deployment: Deployment, gateway: ApiGateway, api_key: str
) -> None:
    """Above the inline limit a body is replaced through POST /files/{id}/uploads: the link,
    S3, the completion (a copy inside S3, validated a chunk at a time), a new version."""
    dep = deployment
    status, _, body = call(dep, gateway, "POST", "/files?name=grows.txt", api_key, b"v1\n", TEXT)
    assert status == 201, body
    first = json.loads(body)
    line = "r\u00e9sum\u00e9 \U0001f600 line of the second version\n".encode()
    data = (line * (20 * 1024 * 1024 // len(line) + 1))[: 20 * 1024 * 1024]
    data = data.decode("utf-8", "ignore").encode()  # whole characters only
    inline = b"x" * ((4 << 20) + 1)  # MAX_INLINE_BYTES' default, and one byte
    status, _, body = call(dep, gateway, "PUT", f"/files/{first['id']}", api_key, inline, TEXT)
    assert status == 413, body
    assert json.loads(body)["upload_url"] == f"/files/{first['id']}/uploads?size={len(inline)}"
    path = f"/files/{first['id']}/uploads?size={len(data)}"
    status, _, body = call(dep, gateway, "POST", path, api_key, headers={"If-Match": first["etag"]})
    assert status == 201, body
    link = json.loads(body)
    put = urllib.request.Request(link["url"], data=data, method="PUT", headers=link["headers"])
    with urllib.request.urlopen(put, timeout=120) as response:
        assert response.status == 200
    status, headers, body = call(dep, gateway, "POST", link["complete_url"], api_key)
    assert status == 200, body
    meta = json.loads(body)
    assert (meta["id"], meta["version"], meta["size"]) == (first["id"], 2, len(data))
    assert headers["ETag"] == meta["etag"] != first["etag"]
    opener = urllib.request.build_opener(
        _NoRedirect, urllib.request.HTTPSHandler(context=api_gateway.client_context(dep.cert))
    )
    request = urllib.request.Request(
        f"{gateway.url}/files/{first['id']}", headers={"Authorization": f"Bearer {api_key}"}
    )
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(request, timeout=60)
    assert redirect.value.code == 307
    with urllib.request.urlopen(redirect.value.headers["Location"], timeout=120) as response:
        assert response.read() == data
    status, _, body = call(dep, gateway, "GET", f"/files/{first['id']}/versions/1", api_key)
    assert (status, body) == (200, b"v1\n")


def test_an_export_runs_through_sqs_in_the_worker(
    deployment: Deployment, gateway: ApiGateway, api_key: str
) -> None:
    dep = deployment
    for name in ("a.txt", "b.txt"):
        call(dep, gateway, "POST", f"/files?name={name}", api_key, name.encode(), TEXT)
    status, _, body = call(dep, gateway, "POST", "/exports", api_key)
    assert status == 202, body
    task_id = json.loads(body)["id"]
    worker = dep.function("task_worker")
    sqs = dep.aws("sqs")
    queue_url = dep.endpoints["QUEUE_URL"]
    for _ in range(20):
        task = json.loads(call(dep, gateway, "GET", f"/tasks/{task_id}", api_key)[2])
        if task["state"] in ("succeeded", "failed"):
            break
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1
        ).get("Messages", [])
        for message in messages:
            answer = worker.invoke_json(_sqs_event(message))
            assert answer is None, (answer, worker.logs()[-3000:])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert task["state"] == "succeeded", task
    with urllib.request.urlopen(task["result"]["download_url"], timeout=10) as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    assert {"a.txt", "b.txt"} <= set(archive.namelist())
    assert archive.read("a.txt") == b"a.txt"


def _sqs_event(message: dict[str, Any]) -> dict[str, Any]:
    """The event Lambda's SQS event source builds from one received message."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:textfiles-tasks",
                "awsRegion": "us-east-1",
            }
        ]
    }


SCHEDULED = {
    "version": "0",
    "id": "1",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-23T06:15:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {},
}


def test_the_health_check_passes_through_https(
    deployment: Deployment, gateway: ApiGateway, admin: Admin
) -> None:
    dep = deployment
    assert "stored in its secret" in make(admin, "admin", "ARGS=health-key")
    alerts = dep.recorder()
    check = dep.function(
        "daily_health_check", HEALTHCHECK_BASE_URL=gateway.url, ALERT_URL=alerts.url
    )
    before = len(gateway.seen)
    result = check.invoke_json(SCHEDULED)
    assert result["ok"] is True, (result, check.logs()[-3000:])
    steps = [(m, p.split("?")[0].rsplit("/", 1)[0], s) for m, p, s in gateway.seen[before:]]
    assert [s[0] for s in steps] == ["GET", "POST", "GET", "DELETE"]
    assert alerts.requests == []


def test_a_failing_health_check_alerts_with_the_client_key(
    deployment: Deployment, gateway: ApiGateway
) -> None:
    dep = deployment
    _put_secret(dep, HEALTH_KEY, "revoked-or-never-made")
    _put_secret(dep, ALERT_KEY, "alert-client-key-123")
    alerts = dep.recorder()
    check = dep.function(
        "daily_health_check", HEALTHCHECK_BASE_URL=gateway.url, ALERT_URL=alerts.url + "/v1/ev"
    )
    result = check.invoke_json(SCHEDULED)
    assert result["ok"] is False and result["failed_step"] == "create", result
    ((method, path, headers, body),) = alerts.requests
    assert (method, path) == ("POST", "/v1/ev")
    assert "alert-client-key-123" in headers.values()
    assert json.loads(body)["severity"] == "critical"
    assert quote("alert-client-key-123") not in check.logs()


def test_make_key_and_revoke_in_a_stage_through_the_admin_function(
    deployment: Deployment, gateway: ApiGateway, admin: Admin
) -> None:
    output = make(admin, "key", "TENANT=globex")
    assert output.startswith("New API key for tenant 'globex'")
    assert len(output.splitlines()) == 2  # the command's output only, never log lines
    key = output.splitlines()[-1]
    assert call(deployment, gateway, "GET", "/files", key)[0] == 200
    assert make(admin, "admin", f"ARGS=revoke {key}") == "revoked"
    assert call(deployment, gateway, "GET", "/files", key)[0] == 401
    answer = admin.function.invoke_json({"args": ["run-schedule", "daily_purge"]})
    assert answer["status"] == 2 and "commands: key" in answer["output"]
    assert key not in admin.function.logs()


def test_the_functions_log_in_as_the_application_role_which_has_no_ddl(
    deployment: Deployment, gateway: ApiGateway, api_key: str
) -> None:
    import pg8000.exceptions

    assert call(deployment, gateway, "GET", "/files", api_key)[0] == 200
    admin = deployment.postgres.connect("textfiles")
    try:
        users = admin.run(
            "SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = 'textfiles'"
            " AND backend_type = 'client backend' AND usename <> 'postgres'"
        )
    finally:
        admin.close()
    assert users == [[APP_ROLE]]
    app = deployment.postgres.connect("textfiles", user=APP_ROLE)
    try:
        assert app.run("SELECT count(*) FROM tenants")[0][0] >= 1
        for ddl in (
            "CREATE TABLE sneaky (id int)",
            "DROP TABLE files",
            "ALTER TABLE files ADD x int",
            "TRUNCATE api_keys",
        ):
            with pytest.raises(pg8000.exceptions.DatabaseError) as refused:
                app.run(ddl)
            assert refused.value.args[0]["C"] == "42501", ddl  # insufficient_privilege
    finally:
        app.close()


def test_only_the_admin_function_may_read_the_owners_credentials(deployment: Deployment) -> None:
    master_arn = next(
        v["Environment"]["Variables"]["DATABASE_SECRET_ARN"]
        for v in lambda_rie.functions(deployment.sam).values()
        if v["Handler"] == "app.admin"
    )
    assert _arn_name(master_arn) == MASTER
    for name, props in lambda_rie.functions(deployment.sam).items():
        mentions = master_arn in json.dumps(props) + json.dumps(_role_of(deployment.sam, props))
        assert mentions == (name == "admin"), name


def _role_of(sam: dict[str, Any], props: dict[str, Any]) -> Any:
    role = props.get("Role", {})
    logical = role.get("Fn::GetAtt", [None])[0] if isinstance(role, dict) else None
    return sam["Resources"].get(logical, {}) if logical else {}


def test_a_large_non_ascii_file_reads_back(
    deployment: Deployment, gateway: ApiGateway, api_key: str
) -> None:
    # 4 MiB of two-byte characters: JSON-escaped it would be 12 MB; base64 keeps it 5.6 MB.
    data = ("é" * (4 * 1024 * 1024 // 2)).encode()
    status, _, body = call(
        deployment, gateway, "POST", "/files?name=accents.txt", api_key, data, TEXT
    )
    assert status == 201, body
    file_id = json.loads(body)["id"]
    status, headers, body = call(deployment, gateway, "GET", f"/files/{file_id}", api_key)
    if status in (302, 303, 307):  # a redirect to a presigned GET would do
        with urllib.request.urlopen(headers["Location"], timeout=10) as response:
            status, body = response.status, response.read()
    assert (status, body == data) == (200, True)


def test_make_key_for_a_stage_without_an_admin_function_says_so(admin: Admin) -> None:
    with pytest.raises(MakeFailed) as failed:
        make(admin, "key", "TENANT=acme", stage="staging")
    assert "error: cannot invoke textfiles-staging-admin" in str(failed.value)
    assert "Traceback" not in str(failed.value)


def test_a_range_and_a_head_through_the_packaged_zip(
    deployment: Deployment, gateway: ApiGateway, api_key: str
) -> None:
    """A 206 travels the proxy integration byte for byte (base64), with its Content-Range and
    identity coding (so API Gateway never compresses it); a 416 says the size; HEAD answers
    GET's validators with no body."""
    dep, gw = deployment, gateway
    data = "Grüße, 0123456789\n".encode() * 100
    status, _, body = call(dep, gw, "POST", "/files?name=ranged.txt", api_key, data, TEXT)
    assert status == 201, body
    meta = json.loads(body)
    path = f"/files/{meta['id']}"
    status, headers, body = call(dep, gw, "GET", path, api_key, headers={"Range": "bytes=3-9"})
    assert (status, body) == (206, data[3:10])
    assert headers["Content-Range"] == f"bytes 3-9/{len(data)}"
    assert headers["Content-Encoding"] == "identity"
    status, headers, _ = call(dep, gw, "GET", path, api_key, headers={"Range": "bytes=99999-"})
    assert (status, headers["Content-Range"]) == (416, f"bytes */{len(data)}")
    status, headers, body = call(dep, gw, "HEAD", path, api_key)
    assert (status, body) == (200, b"")
    assert headers["ETag"] == meta["etag"] and headers["Accept-Ranges"] == "bytes"


def test_names_in_the_path_through_api_gateway(
    deployment: Deployment, gateway: ApiGateway, api_key: str
) -> None:
    """API Gateway's REST proxy hands a path parameter over still percent-encoded (a `%2F`
    stays in its segment): the function decodes it once (docs/writes.md)."""
    dep, gw = deployment, gateway
    path = "/names/" + quote("a b%c ü.txt", safe="")
    status, _, body = call(dep, gw, "PUT", path, api_key, b"by name\n", TEXT)
    assert status == 201, body
    assert json.loads(body)["name"] == "a b%c ü.txt"
    status, headers, body = call(dep, gw, "GET", path, api_key)
    assert (status, body) == (200, b"by name\n")
    status, _, body = call(dep, gw, "PUT", path, api_key, b"x", {**TEXT, "If-None-Match": "*"})
    assert status == 412, body
    assert call(dep, gw, "HEAD", path, api_key)[0] == 200
    status, _, body = call(dep, gw, "PUT", "/names/a%2Fb.txt", api_key, b"x", TEXT)
    assert status == 400 and "'/'" in json.loads(body)["Message"], body
    assert call(dep, gw, "DELETE", path, api_key, headers={"If-Match": headers["ETag"]})[0] == 204
