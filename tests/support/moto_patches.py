"""moto's gaps for `chalice deploy`, patched in this process, plus one-shot injected faults.

Each patch works around a moto bug (moto 5.2), not a product one:

- ImportRestApi reads ``info.description`` unconditionally (a KeyError without one);
- Import/PutRestApi accept only OpenAPI 3, while Chalice sends Swagger 2.0: moto reads only
  ``paths`` and the integrations, so relabelling the document is enough;
- UpdateDomainName is not implemented;
- apigatewayv2 has no route for the tags of a domain name's ARN (``/domainnames/NAME``);
- Lambda's GetAccountSettings is not implemented: it answers from moto's own
  ``MOTO_LAMBDA_CONCURRENCY_QUOTA`` (the quota PutFunctionConcurrency enforces; 1000 if unset).

``apply()`` must run before the moto server creates its apps (support.moto.MotoServer in
the same process). ``fail_once("CreateEventSourceMapping")`` makes the next such call
fail with a non-retryable error: a deploy that breaks half-way.
"""

from __future__ import annotations

import json
from typing import Any

_FAULTS: dict[str, int] = {}
_APPLIED: list[bool] = []


def fail_once(action: str, times: int = 1) -> None:
    """Make the next ``times`` calls of ``action`` (e.g. ``CreateDomainName``) fail."""
    _FAULTS[action] = _FAULTS.get(action, 0) + times


def clear_faults() -> None:
    _FAULTS.clear()


def _patch_rest_api_import() -> None:
    from moto.apigateway.models import APIGatewayBackend

    original_import = APIGatewayBackend.import_rest_api
    original_put = APIGatewayBackend.put_rest_api

    def as_openapi3(api_doc: dict[str, Any]) -> dict[str, Any]:
        doc = dict(api_doc)
        if doc.pop("swagger", None) is not None:
            doc["openapi"] = "3.0.1"
        doc["info"] = {"description": "", **doc.get("info", {})}
        return doc

    def import_rest_api(self: Any, api_doc: dict[str, Any], fail_on_warnings: bool) -> Any:
        return original_import(self, as_openapi3(api_doc), fail_on_warnings)

    def put_rest_api(
        self: Any, function_id: str, api_doc: dict[str, Any], *a: Any, **k: Any
    ) -> Any:
        return original_put(self, function_id, as_openapi3(api_doc), *a, **k)

    APIGatewayBackend.import_rest_api = import_rest_api  # type: ignore[method-assign]
    APIGatewayBackend.put_rest_api = put_rest_api  # type: ignore[method-assign]


def _patch_update_domain_name() -> None:
    from moto.apigateway.responses import APIGatewayResponse

    fields = {
        "/securityPolicy": "security_policy",
        "/certificateArn": "certificate_arn",
        "/regionalCertificateArn": "regional_certificate_arn",
    }

    def update_domain_name(self: Any) -> tuple[int, dict[str, str], str]:
        domain = self.backend.get_domain_name(self.path.split("/")[2])
        for op in json.loads(self.body or "{}").get("patchOperations", []):
            if op.get("path") in fields and op.get("op") == "replace":
                setattr(domain, fields[op["path"]], op["value"])
            elif op.get("path", "").startswith("/endpointConfiguration/types"):
                domain.endpoint_configuration = {"types": [op["value"]]}
        return 200, {}, json.dumps(domain.to_json())

    APIGatewayResponse.update_domain_name = update_domain_name  # type: ignore[attr-defined]


def _patch_v2_domain_tags() -> None:
    from moto.apigatewayv2 import urls
    from moto.apigatewayv2.responses import ApiGatewayV2Response

    route = "{0}/v2/tags/(?P<resource_arn_pt1>[^/]+)/domainnames/(?P<resource_arn_pt2>[^/]+)$"
    urls.url_paths[route] = ApiGatewayV2Response.dispatch


def _patch_account_settings() -> None:
    import os

    from moto.awslambda import urls
    from moto.awslambda.models import lambda_backends
    from moto.awslambda.responses import LambdaResponse

    def get_account_settings(self: Any) -> tuple[int, dict[str, str], str]:
        limit = int(os.environ.get("MOTO_LAMBDA_CONCURRENCY_QUOTA", "1000"))
        backend = lambda_backends[self.current_account][self.region]
        reserved = sum(int(f.reserved_concurrency or 0) for f in backend.list_functions())
        settings = {
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": limit - reserved,
        }
        return 200, {}, json.dumps({"AccountLimit": settings, "AccountUsage": {}})

    LambdaResponse.get_account_settings = get_account_settings  # type: ignore[attr-defined]
    urls.url_paths[r"{0}/(?P<api_version>[^/]+)/account-settings/?$"] = LambdaResponse.dispatch


def _patch_faults() -> None:
    from moto.core.responses import BaseResponse

    original = BaseResponse.call_action

    def call_action(self: Any) -> Any:
        action = self._get_action()
        if _FAULTS.get(action, 0) > 0:
            _FAULTS[action] -= 1
            body = json.dumps({"message": f"injected fault in {action}"})
            return 400, {"x-amzn-ErrorType": "InjectedFault"}, body
        return original(self)

    BaseResponse.call_action = call_action  # type: ignore[method-assign]


def apply() -> None:
    """Patch moto in this process (idempotent)."""
    if _APPLIED:
        return
    _patch_rest_api_import()
    _patch_update_domain_name()
    _patch_v2_domain_tags()
    _patch_account_settings()
    _patch_faults()
    _APPLIED.append(True)
