"""A file by its name (docs/writes.md): GET, HEAD, PUT and DELETE /names/{name}, the name
percent-encoded in the path (a Chalice Blueprint). The same bodies, headers, limits and errors
as the /files/{id} routes: each handler calls the use case the id route calls."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.edge import http

# The use cases are imported inside each handler: no other route's cold start loads them.

bp = Blueprint(__name__)


@http.guarded
def _read(name: str) -> Response:
    import chalicelib.files.names as names
    import chalicelib.files.reading as reading

    request = http.current(bp)
    tenant = http.authenticate(request).tenant
    meta = names.find(tenant, name)
    answer = reading.conditional(tenant, meta.id, request.headers.get("if-none-match"), {})
    return http.body_answer(reading.preconditions(answer, request.headers))


@bp.route("/names/{name}", methods=["GET"])
def read_named(name: str) -> Response:
    return _read(name)


@bp.route("/names/{name}", methods=["HEAD"])
@http.guarded
def head_named(name: str) -> Response:
    """HEAD /files/{id}'s answer for the file the name holds: GET's headers and preconditions,
    the body's length, no body read and no redirect (docs/api.md, Ranges and HEAD)."""
    import chalicelib.edge.ranges as ranges
    import chalicelib.files.names as names

    request = http.current(bp)
    tenant = http.authenticate(request).tenant
    return ranges.file_head(names.find(tenant, name), request.headers)


@bp.route("/names/{name}", methods=["PUT"], content_types=[*http.BODY_TYPES])
@http.guarded
@http.honours("if-match", "if-none-match")
def put_named(name: str) -> Response:
    from chalicelib.files import names

    request = http.current(bp)
    tenant = http.authenticate(request).tenant
    if_match, if_none_match = request.headers.get("if-match"), request.headers.get("if-none-match")
    meta, created = names.put(tenant, name, http.body(request), if_match, if_none_match)
    if created:
        return http.json_response(
            meta.public(), 201, {"Location": f"/files/{meta.id}", "ETag": meta.etag}
        )
    return http.json_response(meta.public(), headers={"ETag": meta.etag})


@bp.route("/names/{name}", methods=["DELETE"])
@http.guarded
@http.honours("if-match")
def delete_named(name: str) -> Response:
    from chalicelib.files import names

    request = http.current(bp)
    names.delete(http.authenticate(request).tenant, name, request.headers.get("if-match"))
    return http.response("", 204)
