"""`make run`: the API on 127.0.0.1 on embedded defaults (or whatever the environment names).

Chalice's own local server, with these differences a person notices:
- a busy port is one line, before anything else happens (no key made, no traceback);
- an unknown route is a 404 in the API's error shape, as the deployed API answers it (its
  gateway responses), never API Gateway's 403 "Missing Authentication Token", and never an
  echo of the Authorization header;
- an answer compresses as API Gateway compresses it (the stage's minimum_compression_size in
  .chalice/config.json, docs/api.md#compression), and a HEAD answer has GET's headers and no
  body (Chalice's server would send the body and a second Content-Length).
Then it prepares the database, prints where everything is with a fresh key, and serves
until Ctrl+C.
"""

from __future__ import annotations

import argparse
import errno
import gzip
import json
import sys
import zlib
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from chalice.local import ChaliceRequestHandler, ForbiddenError, LocalDevServer, LocalGateway

ROOT = Path(__file__).resolve().parents[1]


def not_found(method: str, path: str) -> dict[str, Any]:
    """What the deployed API's gateway responses answer for a route it does not have."""
    message = f"No route {method} {path.split('?')[0]}: see /docs for the API's routes."
    body = json.dumps({"Code": "NotFound", "Message": message})
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    return {"statusCode": 404, "headers": headers, "multiValueHeaders": {}, "body": body.encode()}


class Gateway(LocalGateway):
    def handle_request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> dict[str, Any]:
        try:
            return super().handle_request(method, path, headers, body)
        except ForbiddenError:  # no such route (this app has no authorizers)
            return not_found(method, path)


GZIP_LEVEL = 6  # zlib's default: docs/bench.md measures what it saves and costs
# The content codings API Gateway compresses with (its documented list, but identity).
CODINGS = {
    "gzip": lambda data: gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0),
    "deflate": zlib.compress,
}


def chosen_coding(accept_encoding: str | None) -> str | None:
    """The coding API Gateway would compress with: the client's highest-priority one (the
    first among equals), if it is one the gateway supports; no Accept-Encoding: none."""
    best, best_q = None, 0.0
    for item in (accept_encoding or "").split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().lower().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if name.strip() and q > best_q:
            best, best_q = name.strip().lower(), q
    return best if best in CODINGS else None


def compressed(
    body: bytes, headers: dict[str, Any], accept_encoding: str | None, minimum: int | None
) -> bytes:
    """The body as API Gateway sends it: compressed when compression is on (a minimum size),
    the client accepts a coding, the answer has no Content-Encoding (a 206 says identity)
    and the body is at least the minimum."""
    coding = chosen_coding(accept_encoding)
    if minimum is None or coding is None or len(body) < minimum:
        return body
    if any(name.lower() == "content-encoding" for name in headers):
        return body
    headers["Content-Encoding"] = coding
    return bytes(CODINGS[coding](body))


class Handler(ChaliceRequestHandler):
    def __init__(
        self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any
    ) -> None:
        # Chalice's own __init__ with our gateway: the request is handled inside __init__.
        self.local_gateway = Gateway(app_object, config)
        self.minimum_compression: int | None = config.minimum_compression_size
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def _send_http_response(self, code: int, headers: Any, body: str | bytes | None) -> None:
        """A 204 or 304 has no body, so no body type (Chalice's server would say JSON)."""
        if code in (204, 304):
            body = None
        if self.command == "HEAD":
            self._send_head(code, headers)
            return
        if body is not None:
            raw = body.encode("utf-8") if isinstance(body, str) else body
            body = compressed(
                raw, headers, self.headers.get("accept-encoding"), self.minimum_compression
            )
        super()._send_http_response(code, headers, body)

    def _send_head(self, code: int, headers: dict[str, Any]) -> None:
        """GET's status and headers, the length GET's body would have, and no body."""
        self.send_response(code)
        headers.setdefault("Content-Length", "0")
        self._send_headers(headers)


def make_server(host: str, port: int, stage: str) -> LocalDevServer:
    """The server, bound to the port (OSError when it is busy)."""
    from chalice.cli.factory import CLIFactory
    from chalice.local import CustomLocalChalice, LocalChalice

    config = CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name=stage)
    app = config.chalice_app
    CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)  # as `chalice local` does
    app.__class__ = CustomLocalChalice
    return LocalDevServer(app, config, host, port, handler_cls=Handler)


def banner(base: str, tenant: str) -> str:
    """Where everything is, with a fresh development key (made after the port is ours)."""
    from chalicelib.db import database
    from chalicelib.tenants import apikeys

    database()  # the schema, migrated on first use
    key = apikeys.create_key(tenant, "make run")
    return (
        f"textfiles is serving on {base}  (Ctrl+C stops it)\n"
        f"  web page:       {base}/\n"
        f"  API reference:  {base}/docs\n"
        f"  API key:        {key}  (tenant {tenant!r}; another: make key TENANT=name)\n"
        f"  try:            curl -s -X POST '{base}/files?name=hello.txt'"
        f" -H 'Authorization: Bearer {key}' -H 'Content-Type: text/plain'"
        f" --data-binary 'Hello, world'\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.local_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--stage", default="local")
    parser.add_argument("--tenant", default="dev")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    try:
        server = make_server(args.host, args.port, args.stage)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(
            f"port {args.port} is busy: stop what uses it, or PORT=9000 make run", file=sys.stderr
        )
        return 2
    print(banner(f"http://{args.host}:{args.port}", args.tenant), flush=True)
    try:
        server.server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
