"""The web page, the API reference page and its OpenAPI document, their static assets, and
GET /usage (a Blueprint).

The pages are plain files in chalicelib/edge/static/, served with a strict Content-Security-Policy:
scripts and styles only from this origin, nothing inline, requests only to this API and to
the blob store's upload and download links.
"""

from __future__ import annotations

import functools
import os.path
import re
from urllib.parse import urlsplit  # loaded by Chalice already

from chalice.app import Blueprint, Response

from chalicelib.edge import http

bp = Blueprint(__name__)

# os.path, not pathlib: `import app` loads this module, and pathlib would add ~1 ms to every
# cold start (docs/bench.md, target 1).
STATIC = os.path.join(os.path.dirname(os.path.realpath(__file__)), "static")
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
_ASSET = r"[a-z0-9][a-z0-9-]{0,40}\.(?:js|css)"  # compiled on first use (re's own cache)


@functools.cache
def _asset(name: str) -> str:
    with open(os.path.join(STATIC, name), encoding="utf-8") as fh:
        return fh.read()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def connect_sources() -> list[str]:
    """This API, plus where presigned links point: S3 (or its stand-in), else this app."""
    from chalicelib import config

    if config.get("FILES_BUCKET"):
        endpoint = config.get("AWS_ENDPOINT_URL")
        links = _origin(endpoint) if endpoint else "https://*.amazonaws.com"
    else:
        links = _origin(config.public_base_url())
    return [s for s in dict.fromkeys(["'self'", links]) if s]


def policy() -> str:
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {' '.join(connect_sources())}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def _page(name: str) -> Response:
    headers = {
        "Content-Type": TYPES[".html"],
        "Content-Security-Policy": policy(),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    return http.response(_asset(name), 200, headers)


@bp.route("/", methods=["GET"])
def web_page() -> Response:
    return _page("index.html")


@bp.route("/docs", methods=["GET"])
def api_reference() -> Response:
    return _page("docs.html")


@bp.route("/static/{name}", methods=["GET"])
def static_asset(name: str) -> Response:
    if not re.fullmatch(_ASSET, name) or not os.path.isfile(os.path.join(STATIC, name)):
        body = {"Code": "NotFound", "Message": "No such asset."}
        return http.json_response(body, 404, {"X-Content-Type-Options": "nosniff"})
    headers = {
        "Content-Type": TYPES[os.path.splitext(name)[1]],
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "public, max-age=300",
    }
    return http.response(_asset(name), 200, headers)


@bp.route("/usage", methods=["GET"])
@http.guarded
def get_usage() -> Response:
    from chalicelib.tenants import usage

    caller = http.authenticate(http.current(bp))
    return http.json_response(usage.report(caller.tenant, caller.rate.headers()))


@bp.route("/openapi.json", methods=["GET"])
def openapi_document() -> Response:
    from chalicelib.edge.openapi import render

    return http.json_response(render.document())
