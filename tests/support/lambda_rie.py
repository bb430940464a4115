"""What ships, run as Lambda runs it: the packaged zip under the Runtime Interface Emulator.

``package()`` builds ``deployment.zip`` and ``sam.json`` with ``make package`` (offline,
from the example infra outputs); ``LambdaFunction`` runs one function of the zip under
``aws-lambda-rie`` and ``awslambdaric`` in a virtualenv of the runtime's Python holding only
what that Lambda runtime provides, with the environment ``sam.json`` gives it; ``LambdaApi``
is Lambda's Invoke API by function name. ``runtime_mismatches`` says where the template's
runtime, the zip's bytecode and the emulator's Python disagree. The HTTPS stand-ins in front
of them (API Gateway, the alert service) are in support.api_gateway.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from support.api_gateway import HttpsServer, request_body
from support.net import HOST, ServerUnavailable, end_process, free_port

ROOT = Path(__file__).resolve().parents[2]
RIE = ROOT / ".tools" / "aws-lambda-rie-x86_64"
RUNTIME_PYTHON = ROOT / ".tools" / "lambda-runtime" / "bin" / "python"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"


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


def lambda_python() -> str:
    """The Lambda runtime's Python version, X.Y: LAMBDA_PYTHON of the Makefile."""
    found = re.search(r"^LAMBDA_PYTHON := (\d+\.\d+)$", (ROOT / "Makefile").read_text(), re.M)
    assert found, "the Makefile names no LAMBDA_PYTHON"
    return found.group(1)


def python_of(python: Path | str) -> dict[str, str]:
    """An interpreter's version (X.Y), bytecode cache tag and magic number (hex)."""
    code = (
        "import importlib.util, sys; print('%d.%d' % sys.version_info[:2],"
        " sys.implementation.cache_tag, importlib.util.MAGIC_NUMBER.hex())"
    )
    done = subprocess.run(
        [str(python), "-I", "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    version, tag, magic = done.stdout.split()
    return {"version": version, "cache_tag": tag, "magic": magic}


def runtime_mismatches(sam: dict[str, Any], zip_path: Path, python: dict[str, str]) -> list[str]:
    """Where the template's runtime of each function and the bytecode in the zip disagree with
    *python* (``python_of`` the emulator's interpreter); empty when all name one version."""
    runtime = f"python{python['version']}"
    found = [
        f"{name}: Runtime {props.get('Runtime')!r}, the emulator runs {runtime}"
        for name, props in functions(sam).items()
        if props.get("Runtime") != runtime
    ]
    with zipfile.ZipFile(zip_path) as archive:
        pycs = [n for n in archive.namelist() if n.endswith(".pyc")]
        other_magic = [n for n in pycs if archive.read(n)[:4].hex() != python["magic"]]
    other_tag = [
        n for n in pycs if "__pycache__/" in n and not n.endswith(f".{python['cache_tag']}.pyc")
    ]
    if not pycs:
        found.append("the zip holds no bytecode")
    if other_magic:
        found.append(f"{len(other_magic)} .pyc not compiled by {runtime}, e.g. {other_magic[0]}")
    if other_tag:
        found.append(f"{len(other_tag)} .pyc tagged for another Python, e.g. {other_tag[0]}")
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
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{props['Runtime']}",
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
            HttpsServer.reply(
                request, 404, body, [("x-amzn-ErrorType", "ResourceNotFoundException")]
            )
            return
        payload, _ = function.invoke(json.loads(request_body(request) or b"{}"))
        error = json.loads(payload or b"null")
        headers = [("Content-Type", "application/json")]
        if isinstance(error, dict) and {"errorMessage", "errorType"} <= error.keys():
            headers.append(("X-Amz-Function-Error", "Unhandled"))
        HttpsServer.reply(request, 200, payload, headers)

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


def os_environ_without_aws() -> dict[str, str]:
    """This process's environment minus AWS settings (for a child that gets its own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
