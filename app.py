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

from chalicelib import web
from chalicelib.ops_api import ops
from chalicelib.tasks_api import bp as tasks
from chalicelib.ui_api import bp as ui

# Use cases are imported inside the handlers that need them: a cold start loads only what
# its first request uses (docs/bench.md).

app = Chalice(app_name="textfiles")
web.install(app)
app.register_blueprint(tasks)  # /exports, /tasks, the task worker, the daily purge
app.register_blueprint(ops)  # the daily health check
app.register_blueprint(ui)  # the web page, the API reference, GET /usage


@app.route("/files", methods=["POST"], content_types=["text/plain"])
@web.guarded
def create_file() -> Response:
    from chalicelib import files

    request = web.current(app)
    tenant = web.authenticate(request).tenant
    meta = files.create(tenant, web.query(request, "name") or "", web.body(request))
    return web.json_response(
        meta.public(), 201, {"Location": f"/files/{meta.id}", "ETag": meta.etag}
    )


@app.route("/files", methods=["GET"])
@web.guarded
def list_files() -> Response:
    from chalicelib import files

    request = web.current(app)
    tenant = web.authenticate(request).tenant
    items, next_cursor = files.list_files(
        tenant,
        limit=files.parse_limit(web.query(request, "limit")),
        cursor=web.query(request, "cursor"),
        prefix=web.query(request, "prefix"),
        q=web.query(request, "q"),
    )
    return web.json_response({"items": [m.public() for m in items], "next_cursor": next_cursor})


@app.route("/files/{file_id}", methods=["GET"])
@web.guarded
def read_file(file_id: str) -> Response:
    # `import a.b as b`: a sys.modules lookup once loaded (`from a import b` runs importlib's
    # Python _handle_fromlist on every request); `config` is imported at the top.
    import chalicelib.clock as clock
    import chalicelib.filecache as filecache
    import chalicelib.reads as reads
    from chalicelib.rules import FileMeta, etag_matches

    request = web.current(app)
    caller = web.authenticate(request, filecache.read_cache_keys(file_id))
    fresh = request.headers.get("if-none-match")
    inline = config.max_inline_bytes()

    def wanted(m: FileMeta) -> bool:
        return m.size <= inline and not etag_matches(m, fresh)

    meta, body = reads.read(caller.tenant, file_id, caller.hits, wanted)
    headers = {
        "ETag": meta.etag,
        "Last-Modified": clock.http_date(meta.updated_us),
        "Cache-Control": "private, no-cache",
    }
    if etag_matches(meta, fresh):
        return web.response("", 304, headers)
    if body is None:  # too large for a Lambda response: a short-lived link to the object
        from chalicelib.blobs import blobs

        return web.redirect(blobs().read_url(meta.blob_key, config.read_url_seconds()), headers)
    return web.response(body, 200, {"Content-Type": web.TEXT, **headers})


@app.route("/files/{file_id}/metadata", methods=["GET"])
@web.guarded
def read_metadata(file_id: str) -> Response:
    from chalicelib import filecache, reads

    caller = web.authenticate(web.current(app), filecache.metadata_cache_keys(file_id))
    meta = reads.get_meta(caller.tenant, file_id, caller.hits)
    return web.json_response(meta.public(), headers={"ETag": meta.etag})


@app.route("/files/{file_id}", methods=["PUT"], content_types=["text/plain"])
@web.guarded
def replace_file(file_id: str) -> Response:
    from chalicelib import files

    request = web.current(app)
    tenant = web.authenticate(request).tenant
    meta = files.replace(tenant, file_id, web.body(request), request.headers.get("if-match"))
    return web.json_response(meta.public(), headers={"ETag": meta.etag})


@app.route("/files/{file_id}", methods=["PATCH"], content_types=["application/json"])
@web.guarded
def rename_file(file_id: str) -> Response:
    from chalicelib import files, ids

    request = web.current(app)
    tenant = web.authenticate(request).tenant
    ids.require(file_id, "file")
    meta = files.rename(tenant, file_id, web.json_field(request, "name"))
    return web.json_response(meta.public(), headers={"ETag": meta.etag})


@app.route("/files/{file_id}", methods=["DELETE"])
@web.guarded
def delete_file(file_id: str) -> Response:
    from chalicelib import files, ids

    tenant = web.authenticate(web.current(app)).tenant
    ids.require(file_id, "file")
    files.delete(tenant, file_id)
    return web.response("", 204)


@app.route("/files/uploads", methods=["POST"], content_types=["*/*"])
@web.guarded
def start_upload() -> Response:
    from chalicelib import uploads

    request = web.current(app)
    tenant = web.authenticate(request).tenant
    upload = uploads.start(tenant, web.query(request, "name") or "", web.query(request, "size"))
    return web.json_response(upload.public(), 201)


@app.route("/files/uploads/{upload_id}/complete", methods=["POST"], content_types=["*/*"])
@web.guarded
def complete_upload(upload_id: str) -> Response:
    from chalicelib import ids, uploads

    tenant = web.authenticate(web.current(app)).tenant
    ids.require(upload_id, "upload")
    meta, created = uploads.complete(tenant, upload_id)
    headers = {"Location": f"/files/{meta.id}", "ETag": meta.etag}
    return web.json_response(meta.public(), 201 if created else 200, headers)


@app.route("/blobs/{token}", methods=["PUT"], content_types=["*/*"])
@web.guarded
def put_local_blob(token: str) -> Response:
    """The local folder driver's stand-in for a presigned S3 PUT."""
    from chalicelib import blobs

    blobs.local_upload(token, web.body(web.current(app)))
    return web.response("", 200)


@app.route("/blobs/{token}", methods=["GET"])
@web.guarded
def get_local_blob(token: str) -> Response:
    """The local folder driver's stand-in for a presigned S3 GET."""
    from chalicelib import blobs

    data, filename = blobs.local_download(token)
    if filename is None:  # a read link: the body as text, like a presigned S3 GET
        return web.binary_response(data, {"Content-Type": web.TEXT})
    headers = {"Content-Type": web.content_type(filename)}
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return web.binary_response(data, headers)


@app.route("/health", methods=["GET"])
@web.guarded
def health_check() -> Response:
    from chalicelib import health

    healthy, report = health.check(web.source_ip(web.current(app)))
    return web.json_response(report, 200 if healthy else 503, web.retry_after(healthy))


@app.route("/openapi.json", methods=["GET"])
def openapi_document() -> Response:
    from chalicelib import openapi

    return web.json_response(openapi.document())


@app.lambda_function(name="admin")
def admin(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Operator commands (keys, limits, migrations): invoked with IAM only, never routed."""
    from chalicelib import admin as commands

    return commands.handle(event)
