"""API Gateway's own answers, in the API's words: a route the API does not have (API Gateway
says 403 "Missing Authentication Token", or, with an Authorization header, a SigV4 complaint
that echoes the header) is a 404 in our error shape, with the request's id. One table, used
by every way of deploying: the packaged template (`make package`), `make deploy` and the
Terraform path (infra/terraform/generate.py)."""

from __future__ import annotations

from typing import Any

MESSAGE = "No route $context.httpMethod $context.path: see /docs for the API's routes."
BODY = '{"Code": "NotFound", "Message": "' + MESSAGE + '", "request_id": "$context.requestId"}'
# Both answer a request for a route that does not exist; neither may show the client's key.
TYPES = ("MISSING_AUTHENTICATION_TOKEN", "INCOMPLETE_SIGNATURE")
STATUS = "404"


def template_resources() -> dict[str, Any]:
    """The template's AWS::ApiGateway::GatewayResponse resources, on Chalice's RestAPI."""
    return {
        f"GatewayResponse{kind.title().replace('_', '')}": {
            "Type": "AWS::ApiGateway::GatewayResponse",
            "Properties": {
                "RestApiId": {"Ref": "RestAPI"},
                "ResponseType": kind,
                "StatusCode": STATUS,
                "ResponseTemplates": {"application/json": BODY},
            },
        }
        for kind in TYPES
    }


def put_all(client: Any, rest_api_id: str) -> None:
    """The same answers on a deployed API (effective with the stage's next deployment)."""
    for kind in TYPES:
        client.put_gateway_response(
            restApiId=rest_api_id,
            responseType=kind,
            statusCode=STATUS,
            responseTemplates={"application/json": BODY},
        )


def terraform_resources(rest_api_id: str) -> dict[str, Any]:
    """The same answers as aws_api_gateway_gateway_response resources (infra/terraform)."""
    return {
        kind.lower(): {
            "rest_api_id": rest_api_id,
            "response_type": kind,
            "status_code": STATUS,
            "response_templates": {"application/json": BODY},
        }
        for kind in TYPES
    }
