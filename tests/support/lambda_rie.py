"""What ships, run as Lambda runs it: the packaged zip under the Runtime Interface Emulator.

``package()`` builds ``deployment.zip`` and ``sam.json`` with ``make package`` (offline,
from the example infra outputs); ``LambdaFunction`` runs one function of the zip under
``aws-lambda-rie`` and ``awslambdaric`` in a virtualenv holding only what Lambda's
python3.11 runtime provides, with the environment ``sam.json`` gives it; ``ApiGateway``
is an HTTPS stand-in for API Gateway's REST proxy integration, built from the packaged
Swagger document; ``HttpsRecorder`` stands in for the remote alert service.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import re
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from support.net import HOST, ServerUnavailable, end_process, free_port, self_signed_cert

ROOT = Path(__file__).resolve().parents[2]
RIE = ROOT / ".tools" / "aws-lambda-rie-x86_64"
RUNTIME_PYTHON = ROOT / ".tools" / "lambda-runtime" / "bin" / "python"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
MAX_RESPONSE_BYTES = 6_291_556  # Lambda's synchronous response payload limit
MAX_REQUEST_BYTES = 6 * 1024 * 1024  # API Gateway's and Lambda's request payload limit


def package(stage: str, build: Path) -> Path:
    """``make package`` into *build*, offline; the folder holding sam.json and the zip."""
    outputs = ROOT / "infra" / "example-outputs.json"
    cmd = ["make", "--no-print-directory", "package", f"STAGE={stage}"]
    cmd += [f"INFRA_OUTPUTS={outputs}", f"BUILD={build}"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise ServerUnavailable(f"make package failed:\n{result.stdout[-3000:]}{result.stderr}")
    return build / "app"


def unzip(app_dir: Path, task_root: Path) -> Path:
    """The deployment zip unpacked, as Lambda unpacks it into /var/task."""
    with zipfile.ZipFile(app_dir / "deployment.zip") as archive:
        archive.extractall(task_root)
    return task_root


def functions(sam: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's functions by name (``api_handler`` for the REST API)."""
    found = {}
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            props = resource["Properties"]
            name = props["FunctionName"].split("-", 2)[-1] if "-" in props["FunctionName"] else ""
            found[name if props["Handler"] != "app.app" else "api_handler"] = props
    return found


class LambdaFunction:
    """One function of the zip under the emulator, invoked one event at a time."""

    def __init__(self, task_root: Path, props: dict[str, Any], env: dict[str, str]) -> None:
        self.task_root = task_root
        self.props = props
        self.env = env
        self.port = free_port()
        self.init_s: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.log = task_root.parent / f"{props['FunctionName']}.log"

    def environment(self) -> dict[str, str]:
        """Lambda's own variables, the function's from sam.json, then the test's endpoints."""
        props = self.props
        variables = props.get("Environment", {}).get("Variables", {})
        lambda_env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(self.task_root),
            "AWS_LAMBDA_FUNCTION_NAME": props["FunctionName"],
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", 128)),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(props.get("Timeout", 3)),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        }
        return {**lambda_env, **variables, **self.env}

    def start(self) -> None:
        if not (RIE.is_file() and RUNTIME_PYTHON.is_file()):
            raise ServerUnavailable(f"{RIE} or {RUNTIME_PYTHON} missing: run `make lambda-tools`")
        cmd = [str(RIE), "--runtime-interface-emulator-address", f"{HOST}:{self.port}"]
        cmd += ["--runtime-api-address", f"{HOST}:{free_port()}"]  # default 9001 is shared
        cmd += [str(RUNTIME_PYTHON), "-m", "awslambdaric", self.props["Handler"]]
        with self.log.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd, cwd=self.task_root, env=self.environment(), stdout=log, stderr=log
            )
        deadline = time.monotonic() + 10
        while not _port_open(self.port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise ServerUnavailable(f"the emulator did not start: {self.logs()[-2000:]}")
            time.sleep(0.02)

    def invoke(self, event: dict[str, Any]) -> tuple[bytes, float]:
        """The raw response payload of one invoke, and its duration in seconds."""
        request = urllib.request.Request(
            f"http://{HOST}:{self.port}{INVOKE_PATH}",
            data=json.dumps(event, ensure_ascii=False).encode(),  # as API Gateway sends it
        )
        with self._lock:
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=float(self.props["Timeout"]) + 5) as r:
                payload = r.read()
            elapsed = time.perf_counter() - started
            if self.init_s is None:
                self.init_s = elapsed
        return payload, elapsed

    def invoke_json(self, event: dict[str, Any]) -> Any:
        return json.loads(self.invoke(event)[0] or b"null")

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        end_process(proc, 5)


class LambdaApi:
    """Lambda's Invoke API by function name (the emulator knows one function, unnamed)."""

    def __init__(self, functions: dict[str, LambdaFunction]) -> None:
        owner = self
        self.functions = functions

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                owner.handle(self)

        self.httpd = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        match = re.fullmatch(r"/2015-03-31/functions/([^/]+)/invocations", request.path)
        function = self.functions.get(match.group(1)) if match else None
        if function is None:
            body = json.dumps({"Type": "User", "message": "Function not found"}).encode()
            _HttpsServer.reply(
                request, 404, body, [("x-amzn-ErrorType", "ResourceNotFoundException")]
            )
            return
        payload, _ = function.invoke(json.loads(_body(request) or b"{}"))
        error = json.loads(payload or b"null")
        headers = [("Content-Type", "application/json")]
        if isinstance(error, dict) and {"errorMessage", "errorType"} <= error.keys():
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        _HttpsServer.reply(request, 200, payload, headers)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _port_open(port: int) -> bool:
    import socket

    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A key and certificate for 127.0.0.1 (``openssl``); the cert is also the CA bundle."""
    key, cert = folder / "tls.key", folder / "tls.crt"
    self_signed_cert(key, cert)
    return key, cert


class _HttpsServer:
    """A threaded HTTPS server on a free port; subclasses handle each request."""

    def __init__(self, key: Path, cert: Path) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def handle_one_request(self) -> None:
                self.close_connection = True
                super().handle_one_request()

            def __getattr__(self, name: str) -> Any:
                if name.startswith("do_"):
                    return lambda: owner.handle(self)
                raise AttributeError(name)

        self.httpd = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"https://{HOST}:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    @staticmethod
    def reply(
        request: http.server.BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        headers: list[tuple[str, str]] = (),  # type: ignore[assignment]
    ) -> None:
        request.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection"):
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _body(request: http.server.BaseHTTPRequestHandler) -> bytes:
    length = int(request.headers.get("Content-Length") or 0)
    return request.rfile.read(length) if length else b""


class HttpsRecorder(_HttpsServer):
    """Answers every request 200 and keeps it: (method, path, headers, body)."""

    def __init__(self, key: Path, cert: Path) -> None:
        super().__init__(key, cert)
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        body = _body(request)
        self.requests.append((request.command, request.path, dict(request.headers), body))
        self.reply(request, 200, b'{"ok": true}', [("Content-Type", "application/json")])


class ApiGateway(_HttpsServer):
    """API Gateway's REST proxy integration in front of one function, from its Swagger."""

    def __init__(self, key: Path, cert: Path, sam: dict[str, Any], api: LambdaFunction) -> None:
        definition = sam["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
        self.binary_types = set(definition.get("x-amazon-apigateway-binary-media-types", []))
        self.routes = [
            (re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"), path, methods)
            for path, methods in definition["paths"].items()
        ]
        self.stage = sam["Resources"]["RestAPI"]["Properties"]["StageName"]
        self.api = api
        self.seen: list[tuple[str, str, int]] = []
        super().__init__(key, cert)

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        status, body, headers = self._serve(request)
        self.seen.append((request.command, request.path, status))
        self.reply(request, status, body, headers)

    def _serve(
        self, request: http.server.BaseHTTPRequestHandler
    ) -> tuple[int, bytes, list[tuple[str, str]]]:
        body = _body(request)
        if len(body) > MAX_REQUEST_BYTES:
            return _gateway_error(413, "Request Too Long")
        url = urlsplit(request.path)
        route = self._route(url.path, request.command)
        if route is None:
            return _gateway_error(403, "Missing Authentication Token")
        event = self.event(request, url.path, url.query, route, body)
        try:
            payload, _ = self.api.invoke(event)
        except urllib.error.HTTPError:  # the invoke failed: payload too large, runtime exited
            return _gateway_error(502, "Internal server error")
        if len(payload) > MAX_RESPONSE_BYTES:
            return _gateway_error(502, "Internal server error")  # Lambda refused the payload
        return _http_response(json.loads(payload))

    def _route(self, path: str, method: str) -> tuple[str, dict[str, str]] | None:
        for pattern, resource, methods in self.routes:
            match = pattern.match(path)
            if match and (method.lower() in methods or "x-amazon-apigateway-any-method" in methods):
                return resource, match.groupdict()
        return None

    def event(
        self,
        request: http.server.BaseHTTPRequestHandler,
        path: str,
        query: str,
        route: tuple[str, dict[str, str]],
        body: bytes,
    ) -> dict[str, Any]:
        """A REST API proxy event, as API Gateway sends it to Lambda."""
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            multi_headers.setdefault(name, []).append(value)
        multi_query: dict[str, list[str]] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            multi_query.setdefault(name, []).append(value)
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
        binary = content_type in self.binary_types or "*/*" in self.binary_types
        resource, params = route
        return {
            "resource": resource,
            "path": path,
            "httpMethod": request.command,
            "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": resource,
                "httpMethod": request.command,
                "path": f"/{self.stage}{path}",
                "stage": self.stage,
                "requestId": str(uuid.uuid4()),
                "identity": {"sourceIp": request.client_address[0]},
            },
            "body": (base64.b64encode(body).decode() if binary else body.decode("utf-8"))
            if body
            else None,
            "isBase64Encoded": bool(body) and binary,
        }


def _gateway_error(status: int, message: str) -> tuple[int, bytes, list[tuple[str, str]]]:
    body = json.dumps({"message": message}).encode()
    return status, body, [("Content-Type", "application/json")]


def _http_response(response: dict[str, Any]) -> tuple[int, bytes, list[tuple[str, str]]]:
    """The function's proxy response as HTTP; anything else is API Gateway's 502."""
    if not isinstance(response, dict) or "statusCode" not in response:
        return _gateway_error(502, "Internal server error")
    headers = [(k, str(v)) for k, v in (response.get("headers") or {}).items()]
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers = [h for h in headers if h[0].lower() != name.lower()]
        headers += [(name, str(v)) for v in values]
    raw = response.get("body") or ""
    body = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode("utf-8")
    return int(response["statusCode"]), body, headers


def client_context(cert: Path) -> ssl.SSLContext:
    """A client context that trusts the stand-ins' self-signed certificate."""
    return ssl.create_default_context(cafile=str(cert))


def os_environ_without_aws() -> dict[str, str]:
    """This process's environment minus AWS settings (for a child that gets its own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
