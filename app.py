"""textfiles: a CRUD API for plaintext files. Each handler parses, calls one use case, answers."""

from __future__ import annotations

import gc
from typing import Any

from chalicelib import config

if config.in_lambda():
    # No garbage collection during a cold start: web.install resumes it, frozen, once the
    # first event is answered (docs/bench.md: 60-110 ms of collections otherwise).
    gc.disable()

from chalice.app import Chalice, Response  # after the pause, on purpose

from chalicelib.edge import cors, http, idempotent
from chalicelib.edge.page import bp as ui
from chalicelib.edge.routes.blobs import bp as local_blobs
from chalicelib.edge.routes.bodies import bp as bodies
from chalicelib.edge.routes.changes import bp as changes
from chalicelib.edge.routes.health import ops
from chalicelib.edge.routes.history import bp as history
from chalicelib.edge.routes.names import bp as names
from chalicelib.edge.routes.tasks import bp as tasks

# Use cases are imported inside the handlers that need them: a cold start loads only what
# its first request uses (docs/bench.md).

app = Chalice(app_name="textfiles")
http.install(app)
app.register_blueprint(tasks)  # /exports, /tasks, the task worker, the daily purge
app.register_blueprint(ops)  # GET /health and the daily health check
app.register_blueprint(ui)  # the web page, the API reference, /openapi.json, GET /usage
app.register_blueprint(history)  # versions, diffs, restores and the trash (docs/history.md)
app.register_blueprint(changes)  # the change feed and its long poll (docs/changes.md)
app.register_blueprint(bodies)  # replacing a body through an upload, copies (docs/api.md)
app.register_blueprint(names)  # GET, HEAD, PUT, DELETE /names/{name} (docs/writes.md)
app.register_blueprint(local_blobs)  # the local folder driver's links (never used with S3)


@app.route("/files", methods=["POST"], content_types=[*http.BODY_TYPES])
@idempotent.keyed
@http.guarded
def create_file() -> Response:
    from chalicelib.files import writes

    request = http.current(app)
    tenant = http.authenticate(request).tenant
    meta = writes.create(tenant, http.query(request, "name") or "", http.body(request))
    return http.json_response(
        meta.public(), 201, {"Location": f"/files/{meta.id}", "ETag": meta.etag}
    )


@app.route("/files", methods=["GET"])
@http.guarded
def list_files() -> Response:
    from chalicelib.files import listing

    request = http.current(app)
    tenant = http.authenticate(request).tenant
    items, next_cursor = listing.list_files(
        tenant,
        limit=listing.parse_limit(http.query(request, "limit")),
        cursor=http.query(request, "cursor"),
        prefix=http.query(request, "prefix"),
        q=http.query(request, "q"),
    )
    return http.json_response({"items": [m.public() for m in items], "next_cursor": next_cursor})


@app.route("/files/{file_id}", methods=["GET", "HEAD"])
@http.guarded
def read_file(file_id: str) -> Response:
    # `import a.b as b`: a sys.modules lookup once loaded (`from a import b` runs importlib's
    # Python _handle_fromlist on every request).
    import chalicelib.files.reading as reading

    request = http.current(app)
    head = request.method == "HEAD"  # the metadata only: no body is read
    caller = http.authenticate(request, reading.prefetch(file_id, body=not head))
    if head:
        import chalicelib.edge.ranges as ranges

        meta = reading.get_meta(caller.tenant, file_id, caller.hits)
        return ranges.file_head(meta, request.headers)
    if_none_match = request.headers.get("if-none-match")
    answer = reading.conditional(caller.tenant, file_id, if_none_match, caller.hits)
    return http.body_answer(reading.preconditions(answer, request.headers))


@app.route("/files/{file_id}/metadata", methods=["GET", "HEAD"])
@http.guarded
def read_metadata(file_id: str) -> Response:
    from chalicelib.files import reading

    request = http.current(app)
    caller = http.authenticate(request, reading.prefetch(file_id, body=False))
    meta = reading.get_meta(caller.tenant, file_id, caller.hits)
    if reading.metadata_unchanged(meta, request.headers):  # 304, or 412 on a stale If-Match
        return http.response("", 304, {"ETag": meta.record_etag})
    return http.json_response(meta.public(), headers={"ETag": meta.record_etag})


@app.route("/files/{file_id}", methods=["PUT"], content_types=[*http.BODY_TYPES])
@http.guarded
@http.honours("if-match", "if-none-match")
def replace_file(file_id: str) -> Response:
    from chalicelib.files import writes

    request = http.current(app)
    tenant = http.authenticate(request).tenant
    headers = request.headers
    body = http.body(request)
    meta = writes.replace(
        tenant, file_id, body, headers.get("if-match"), headers.get("if-none-match")
    )
    return http.json_response(meta.public(), headers={"ETag": meta.etag})


@app.route("/files/{file_id}", methods=["PATCH"], content_types=["application/json"])
@http.guarded
@http.honours("if-match")
def rename_file(file_id: str) -> Response:
    from chalicelib.files import writes

    request = http.current(app)
    tenant = http.authenticate(request).tenant
    name = http.json_field(request, "name")
    meta = writes.rename(tenant, file_id, name, request.headers.get("if-match"))
    return http.json_response(meta.public(), headers={"ETag": meta.etag})


@app.route("/files/{file_id}", methods=["DELETE"])
@http.guarded
@http.honours("if-match")
def delete_file(file_id: str) -> Response:
    from chalicelib.files import writes

    request = http.current(app)
    tenant = http.authenticate(request).tenant
    writes.delete(tenant, file_id, request.headers.get("if-match"))
    return http.response("", 204)


@app.route("/files/uploads", methods=["POST"], content_types=["*/*"])
@idempotent.keyed_link
@http.guarded
def start_upload() -> Response:
    from chalicelib.files import uploads

    request = http.current(app)
    tenant = http.authenticate(request).tenant
    upload = uploads.start(tenant, http.query(request, "name") or "", http.query(request, "size"))
    return http.json_response(upload.public(), 201)


@app.route("/files/uploads/{upload_id}/complete", methods=["POST"], content_types=["*/*"])
@idempotent.keyed
@http.guarded
def complete_upload(upload_id: str) -> Response:
    from chalicelib.files import uploads

    tenant = http.authenticate(http.current(app)).tenant
    meta, created = uploads.complete(tenant, upload_id)
    headers = {"Location": f"/files/{meta.id}", "ETag": meta.etag}
    return http.json_response(meta.public(), 201 if created else 200, headers)


# Last, once every route is registered: a browser's CORS preflight on every path.
cors.add_preflights(app)


@app.lambda_function(name="admin")
def admin(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Operator commands (keys, limits, migrations): invoked with IAM only, never routed."""
    from chalicelib.edge import admin as commands

    return commands.handle(event)
