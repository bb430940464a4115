"""The route table (chalicelib/edge/openapi/table.py) is the routes the app registers, and the
document's error answers come from the error classes the table lists."""

from __future__ import annotations

import inspect
import re
from typing import Any

from chalice.test import Client

from app import app
from chalicelib import errors
from chalicelib.edge.openapi import render
from chalicelib.edge.openapi.table import ROUTES
from chalicelib.errors import DomainError, Forbidden, KeyInUse, QuotaExceeded
from conftest import LOCAL_STAGE


def _registered() -> dict[tuple[str, str], Any]:
    """The app's routes but the CORS preflights (chalicelib/edge/cors.py), which every path
    has and the document, as is usual, leaves out."""
    return {
        (method, path): entry
        for path, entries in app.routes.items()
        for method, entry in entries.items()
        if method != "OPTIONS"
    }


def test_every_path_answers_a_preflight() -> None:
    assert all("OPTIONS" in entries for entries in app.routes.values())


def test_the_table_holds_every_registered_route_and_no_other() -> None:
    table = [(route.method, route.path) for route in ROUTES]
    assert len(table) == len(set(table))
    assert set(table) == set(_registered())


def test_operation_ids_are_unique() -> None:
    assert len({route.op_id for route in ROUTES}) == len(ROUTES)


def test_path_parameters_are_the_handlers_arguments() -> None:
    registered = _registered()
    for route in ROUTES:
        declared = [p.name for p in route.params if p.where == "path"]
        assert declared == re.findall(r"\{(\w+)\}", route.path), route.op_id
        assert declared == registered[route.method, route.path].view_args, route.op_id


def test_a_secured_route_asks_for_a_key_and_a_public_one_does_not(embedded_env: Any) -> None:
    with Client(app, stage_name=LOCAL_STAGE) as client:
        for route in ROUTES:
            path = re.sub(r"\{\w+\}", "0" * 32, route.path)
            media = route.body.media.replace("*/*", "text/plain") if route.body else None
            headers = {"Content-Type": media} if media else {}
            body = b"{}" if media else b""
            reply = client.http.request(route.method, path, headers=headers, body=body)
            assert (reply.status_code == 401) == route.secured, (route.op_id, reply.status_code)


def test_a_documented_body_is_one_the_handler_accepts() -> None:
    registered = _registered()
    for route in ROUTES:
        if route.body is not None:
            accepted = registered[route.method, route.path].content_types
            for media in (route.body.media, *route.body.binary):
                assert media in accepted or "*/*" in accepted, route.op_id


def test_an_error_never_hides_a_documented_answer() -> None:
    for route in ROUTES:
        statuses = {str(cls.status) for cls in route.all_errors()}
        assert not statuses & set(route.replies), route.op_id


def test_every_error_class_describes_itself() -> None:
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)]
    for cls in classes:
        if issubclass(cls, DomainError) and cls is not DomainError:
            assert cls.description.endswith("."), cls.__name__


def test_error_answers_come_from_the_classes_a_route_lists(embedded_env: Any) -> None:
    doc = render.document()
    for route in ROUTES:
        responses = doc["paths"][route.path][route.method.lower()]["responses"]
        for cls in route.all_errors():
            response = responses[str(cls.status)]
            assert cls.description in response["description"], route.op_id
            example = response["content"]["application/json"]["example"]
            assert example["Code"] in {c.code for c in route.all_errors()}, route.op_id
            retry = "Retry-After" in response.get("headers", {})
            # 429, 503, and the 409 of an Idempotency-Key whose first request still runs
            keyed = cls.status == 409 and KeyInUse in route.all_errors()
            assert retry == (cls.status in (429, 503) or keyed), (route.op_id, cls.status)


def test_classes_sharing_a_status_each_say_what_they_mean() -> None:
    description = render.errors([Forbidden, QuotaExceeded])["403"]["description"]
    assert "Forbidden: " + Forbidden.description in description
    assert "QuotaExceeded: " + QuotaExceeded.description in description
    assert render.errors([Forbidden])["403"]["description"] == Forbidden.description
