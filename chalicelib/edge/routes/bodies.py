"""Routes that move a body inside the store (docs/api.md): replacing a body of any size through
an upload link, and copying a file (a Chalice Blueprint). Each handler parses, calls one use
case, answers; completing a replace's upload is `POST /files/uploads/{id}/complete` (app.py)."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.edge import http, idempotent

# The use cases are imported inside each handler: no other route's cold start loads them.

bp = Blueprint(__name__)


@bp.route("/files/{file_id}/uploads", methods=["POST"], content_types=["*/*"])
@idempotent.keyed_link
@http.guarded
@http.honours("if-match")
def start_replace(file_id: str) -> Response:
    from chalicelib.files.uploads import replace

    request = http.current(bp)
    tenant = http.authenticate(request).tenant
    size, if_match = http.query(request, "size"), request.headers.get("if-match")
    upload = replace.start(tenant, file_id, size, if_match)
    return http.json_response(upload.public(), 201)


@bp.route("/files/{file_id}/copy", methods=["POST"], content_types=["*/*"])
@idempotent.keyed
@http.guarded
@http.honours("if-match")
def copy_file(file_id: str) -> Response:
    from chalicelib.files.uploads import copies

    request = http.current(bp)
    tenant = http.authenticate(request).tenant
    name, if_match = http.query(request, "name"), request.headers.get("if-match")
    meta = copies.copy(tenant, file_id, name, if_match)
    headers = {"Location": f"/files/{meta.id}", "ETag": meta.etag}
    return http.json_response(meta.public(), 201, headers)
