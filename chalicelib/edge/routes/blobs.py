"""The local folder driver's stand-ins for presigned S3 links (a Blueprint): `make run` and
the tests upload and download through these; with S3 the links point at the bucket."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.edge import http

bp = Blueprint(__name__)


@bp.route("/blobs/{token}", methods=["PUT"], content_types=["*/*"])
@http.guarded
def put_local_blob(token: str) -> Response:
    """The local folder driver's stand-in for a presigned S3 PUT."""
    from chalicelib import blobs

    blobs.local_upload(token, http.body(http.current(bp)))
    return http.response("", 200)


@bp.route("/blobs/{token}", methods=["GET"])
@http.guarded
def get_local_blob(token: str) -> Response:
    """The local folder driver's stand-in for a presigned S3 GET."""
    from chalicelib import blobs

    data, filename = blobs.local_download(token)
    if filename is None:  # a read link: the body as text, like a presigned S3 GET
        return http.ranged_body(data, {"Content-Type": http.TEXT})  # Range, as S3 answers it
    headers = {"Content-Type": http.content_type(filename)}
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return http.ranged_body(data, headers)
