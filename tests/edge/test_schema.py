"""schemathesis against /openapi.json, on the embedded drivers and on real backends: generated
requests (valid and invalid ones) never get a 500, and every answer conforms to the document
(status code, content type, headers, body schema).

The app is served in-process through a small WSGI adapter around Chalice's LocalGateway — the
same request-to-event conversion `chalice local` uses — so the run takes seconds and uses the
very backends the `backend` fixture sets up, with no server process to start or to point at
them. Cases are derandomized: the same seed, the same requests, on every run.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, unquote

import pytest
import schemathesis
from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import app
from conftest import LOCAL_STAGE

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = {
    schemathesis.GenerationMode.POSITIVE: int(os.environ.get("SCHEMA_POSITIVE", 6)),
    schemathesis.GenerationMode.NEGATIVE: int(os.environ.get("SCHEMA_NEGATIVE", 4)),
}
# A generated case (schemathesis.Case is generic over its operation).
Case = schemathesis.Case[Any]
EXISTING = 3  # valid cases per operation on an existing file or task


class ApiGateway(LocalGateway):
    """`chalice local`'s gateway, but path parameters arrive percent-decoded, as API Gateway
    passes them to Lambda (`chalice local` passes them as sent)."""

    def _generate_lambda_event(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> dict[str, Any]:
        event: dict[str, Any] = super()._generate_lambda_event(method, path, headers, body)
        params = event.get("pathParameters") or {}
        event["pathParameters"] = {name: unquote(value) for name, value in params.items()}
        return event


class Wsgi:
    """The Chalice app as a WSGI application, answering as `chalice local` does."""

    def __init__(self) -> None:
        self.gateway = ApiGateway(app, Config.create(chalice_stage=LOCAL_STAGE))

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("RAW_URI") or quote(environ.get("PATH_INFO", "/"))
        if environ.get("QUERY_STRING") and "?" not in path:
            path += "?" + environ["QUERY_STRING"]
        headers = {
            k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        try:
            reply = self.gateway.handle_request(environ["REQUEST_METHOD"], path, headers, body)
            status, data = reply["statusCode"], reply["body"]
            out = {**reply["headers"], **(reply.get("multiValueHeaders") or {})}
            if reply.get("isBase64Encoded"):
                data = base64.b64decode(data)
        except LocalGatewayException as exc:
            status, out, data = exc.CODE, dict(exc.headers), exc.body
        if data is not None:
            out.setdefault("Content-Type", "application/json")  # as chalice local does
        data = data.encode() if isinstance(data, str) else data or b""
        pairs = [(k, v) for k, vs in out.items() for v in (vs if isinstance(vs, list) else [vs])]
        start_response(f"{status} {HTTPStatus(status).phrase}", pairs)
        return [data]


@pytest.fixture
def schema_run(
    backend: str, new_key: Callable[[str | None], str], monkeypatch: pytest.MonkeyPatch
) -> Any:
    monkeypatch.setenv("RATE_LIMIT_PER_WINDOW", "100000")
    wsgi = Wsgi()
    schema = schemathesis.openapi.from_wsgi("/openapi.json", wsgi)
    return schema, wsgi, {"Authorization": f"Bearer {new_key(None)}"}


def fuzz(
    operation: Any,
    mode: schemathesis.GenerationMode,
    examples: int,
    call: Callable[[Case], None],
    path_parameters: dict[str, str] | None = None,
) -> int:
    """Up to `examples` derandomized cases of one operation; how many ran."""
    ran = 0
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @given(case=strategy)
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case) -> None:
        nonlocal ran
        ran += 1
        call(case)

    try:
        run()
    except Unsatisfiable:
        # Nothing to make invalid (no parameter, no body): only valid cases exist.
        assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
    return ran


def existing_ids(wsgi: Wsgi, auth: dict[str, str]) -> dict[str, str]:
    """A file and a task of the tenant, so that cases also reach the 2xx answers."""
    from werkzeug.test import Client as WsgiClient

    client = WsgiClient(wsgi)
    text = {**auth, "Content-Type": "text/plain"}
    file = client.post("/files?name=schema.txt", data=b"some text", headers=text).get_json()
    task = client.post("/exports", headers=auth).get_json()
    return {"file_id": file["id"], "task_id": task["id"]}


def test_the_api_conforms_to_its_document(schema_run: Any) -> None:
    schema, wsgi, auth = schema_run

    def call(case: Case) -> None:
        response = case.call(app=wsgi, headers=auth)
        case.validate_response(response, checks=CHECKS, headers=auth)

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    cases = sum(
        fuzz(operation, mode, examples, call)
        for operation in operations
        for mode, examples in EXAMPLES.items()
    )
    ids = existing_ids(wsgi, auth)
    for operation in operations:
        fixed = {p.name: ids[p.name] for p in operation.path_parameters if p.name in ids}
        if fixed:
            positive = schemathesis.GenerationMode.POSITIVE
            cases += fuzz(operation, positive, EXISTING, call, fixed)
    assert cases >= 100
    print(f"schemathesis: {cases} cases")
