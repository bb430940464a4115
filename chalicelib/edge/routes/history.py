"""History's routes (docs/history.md): a file's versions, a diff between two, restoring one,
and the trash (a Chalice Blueprint). Each handler parses, calls one use case, answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint, Request, Response

from chalicelib.edge import http, idempotent

if TYPE_CHECKING:
    from chalicelib.files.history.store import Version

# The use cases are imported inside each handler: no other route's cold start loads them.

bp = Blueprint(__name__)

DIFF = "text/x-diff; charset=utf-8"
IMMUTABLE = "private, max-age=31536000, immutable"


def _limit(request: Request) -> int:
    from chalicelib.files.rules import parse_limit

    return parse_limit(http.query(request, "limit"))


@bp.route("/files/{file_id}/versions", methods=["GET"])
@http.guarded
def list_versions(file_id: str) -> Response:
    from chalicelib.files.history import versions

    request = http.current(bp)
    tenant = http.authenticate(request).tenant
    items, next_cursor = versions.page(
        tenant, file_id, _limit(request), http.query(request, "cursor")
    )
    return http.json_response({"items": [v.public() for v in items], "next_cursor": next_cursor})


@bp.route("/files/{file_id}/versions/{version}", methods=["GET", "HEAD"])
@http.guarded
def read_version(file_id: str, version: str) -> Response:
    from chalicelib.files.history import versions

    request = http.current(bp)
    tenant = http.authenticate(request).tenant
    if_none_match = request.headers.get("if-none-match")
    if request.method == "HEAD":  # the version's row only: no body is read
        import chalicelib.edge.ranges as ranges

        kept = versions.get(tenant, file_id, version)
        return ranges.head_answer(kept, kept.size, _version_validators(kept), if_none_match)
    answer = versions.body(tenant, file_id, version, if_none_match)
    headers = _version_validators(answer.version)
    if answer.link is not None:
        return http.redirect(answer.link, headers)
    if answer.body is None:
        return http.response("", 304, headers)
    return http.ranged_body(answer.body, {"Content-Type": http.TEXT, **headers})


def _version_validators(kept: Version) -> dict[str, str]:
    import chalicelib.clock as clock

    return {
        "ETag": kept.etag,
        "Last-Modified": clock.http_date(kept.created_us),
        "Cache-Control": IMMUTABLE,
    }


@bp.route("/files/{file_id}/versions/{version}/metadata", methods=["GET", "HEAD"])
@http.guarded
def read_version_metadata(file_id: str, version: str) -> Response:
    from chalicelib.files.history import versions

    tenant = http.authenticate(http.current(bp)).tenant
    kept = versions.get(tenant, file_id, version)
    return http.json_response(kept.public(), headers={"ETag": kept.etag})


@bp.route("/files/{file_id}/versions/{version}/restore", methods=["POST"], content_types=["*/*"])
@idempotent.keyed
@http.guarded
@http.honours("if-match")
def restore_version(file_id: str, version: str) -> Response:
    from chalicelib.files.history import versions

    request = http.current(bp)
    tenant = http.authenticate(request).tenant
    meta = versions.restore(tenant, file_id, version, request.headers.get("if-match"))
    return http.json_response(meta.public(), headers={"ETag": meta.etag})


@bp.route("/files/{file_id}/diff", methods=["GET"])
@http.guarded
def diff_versions(file_id: str) -> Response:
    from chalicelib.files.history import diff

    request = http.current(bp)
    tenant = http.authenticate(request).tenant
    text = diff.diff(tenant, file_id, http.query(request, "from"), http.query(request, "to"))
    return http.response(text, 200, {"Content-Type": DIFF, "Cache-Control": "private, no-cache"})


@bp.route("/trash", methods=["GET"])
@http.guarded
def list_trash() -> Response:
    from chalicelib.files.history import trash

    request = http.current(bp)
    tenant = http.authenticate(request).tenant
    rows, next_cursor = trash.page(tenant, _limit(request), http.query(request, "cursor"))
    return http.json_response(
        {"items": [trash.public(row) for row in rows], "next_cursor": next_cursor}
    )


@bp.route("/trash/{file_id}/restore", methods=["POST"], content_types=["*/*"])
@idempotent.keyed
@http.guarded
def restore_trashed(file_id: str) -> Response:
    from chalicelib.files.history import trash

    request = http.current(bp)
    tenant = http.authenticate(request).tenant
    meta = trash.restore(tenant, file_id, http.query(request, "name"))
    headers = {"Location": f"/files/{meta.id}", "ETag": meta.etag}
    return http.json_response(meta.public(), 200, headers)


@bp.route("/trash/{file_id}", methods=["DELETE"])
@http.guarded
def delete_trashed(file_id: str) -> Response:
    from chalicelib.files.history import trash

    tenant = http.authenticate(http.current(bp)).tenant
    trash.delete_forever(tenant, file_id)
    return http.response("", 204)
