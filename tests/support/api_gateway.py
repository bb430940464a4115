"""HTTPS stand-ins of the Lambda harness: API Gateway's REST proxy integration in front of
one function (built from the packaged Swagger, with API Gateway's payload limits) and a
recorder for the remote alert service; both on a throwaway self-signed certificate.
"""

from __future__ import annotations

import base64
import http.server
import json
import re
import ssl
import threading
import urllib.error
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from support.net import HOST, self_signed_cert

if TYPE_CHECKING:
    from support.lambda_rie import LambdaFunction

__all__ = ["ApiGateway", "HttpsRecorder", "HttpsServer", "client_context", "self_signed"]

MAX_RESPONSE_BYTES = 6_291_556  # Lambda's synchronous response payload limit
MAX_REQUEST_BYTES = 6 * 1024 * 1024  # API Gateway's and Lambda's request payload limit


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A key and certificate for 127.0.0.1 (``openssl``); the cert is also the CA bundle."""
    key, cert = folder / "tls.key", folder / "tls.crt"
    self_signed_cert(key, cert)
    return key, cert


class HttpsServer:
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


def request_body(request: http.server.BaseHTTPRequestHandler) -> bytes:
    length = int(request.headers.get("Content-Length") or 0)
    return request.rfile.read(length) if length else b""


class HttpsRecorder(HttpsServer):
    """Answers every request 200 and keeps it: (method, path, headers, body)."""

    def __init__(self, key: Path, cert: Path) -> None:
        super().__init__(key, cert)
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []

    def handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        body = request_body(request)
        self.requests.append((request.command, request.path, dict(request.headers), body))
        self.reply(request, 200, b'{"ok": true}', [("Content-Type", "application/json")])


class ApiGateway(HttpsServer):
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
        body = request_body(request)
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
