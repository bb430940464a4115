"""The OpenAPI document is valid and describes every route the app serves."""

from __future__ import annotations

import json
import re
from typing import Any

from chalice.test import Client
from openapi_spec_validator import validate

from app import app
from conftest import LOCAL_STAGE


def _document(embedded_env: Any) -> dict[str, Any]:
    with Client(app, stage_name=LOCAL_STAGE) as client:
        reply = client.http.get("/openapi.json")
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/json"
    doc: dict[str, Any] = json.loads(reply.body)
    return doc


def test_document_is_valid_openapi_3(embedded_env: Any) -> None:
    validate(_document(embedded_env))


def test_every_route_and_method_is_documented(embedded_env: Any) -> None:
    doc = _document(embedded_env)
    served = {
        (path, method.lower())
        for path, entries in app.routes.items()
        for method in entries
        if method != "OPTIONS"  # CORS preflights (chalicelib/edge/cors.py), left out as usual
    }
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served == documented


def test_every_authenticated_operation_documents_its_errors(embedded_env: Any) -> None:
    doc = _document(embedded_env)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if op.get("security") == []:
                continue
            assert {"401", "503"} <= set(op["responses"]), (path, method)
            assert re.fullmatch(r"[a-z][A-Za-z]+", op["operationId"])


def test_links_lead_from_an_answer_to_the_operations_it_enables(embedded_env: Any) -> None:
    doc = _document(embedded_env)
    operations = {op["operationId"] for ops in doc["paths"].values() for op in ops.values()}
    created = doc["paths"]["/files"]["post"]["responses"]["201"]["links"]
    assert created["readFile"] == {
        "operationId": "readFile",
        "parameters": {"file_id": "$response.body#/id"},
    }
    for ops in doc["paths"].values():
        for op in ops.values():
            for response in op["responses"].values():
                for link in response.get("links", {}).values():
                    assert link["operationId"] in operations
