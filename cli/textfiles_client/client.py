"""A typed client of the textfiles API: one method per operation of /openapi.json.

Every POST that creates or starts something carries an Idempotency-Key made once per call
(one logical operation, whatever its retries): the server replays the first answer to a
repeated key and does nothing again, so the transport retries such POSTs (`replays_keys`).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from typing import IO, Any, cast

from textfiles_client.changes import ChangeOperations
from textfiles_client.heads import HeadOperations
from textfiles_client.history import HistoryOperations
from textfiles_client.mixin import conditions, operation, q, read_headers
from textfiles_client.named import NamedOperations
from textfiles_client.transport import TEXT, ApiError, ProgressFn, Transport
from textfiles_client.types import File, FileList, Health, Task, Upload, Usage

__all__ = ["TEXT", "ApiError", "Client", "ProgressFn"]


def new_key() -> str:
    """An Idempotency-Key: one per logical operation."""
    return secrets.token_hex(16)


class Client(HistoryOperations, HeadOperations, NamedOperations, ChangeOperations, Transport):
    """The API at `base_url` with an API key. Every method raises ApiError on failure
    (history's operations: textfiles_client/history.py; by name: named.py)."""

    # ---- transport -------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        retries: int | None = None,
        **query: Any,
    ) -> Any:
        """A request with a JSON answer (and a JSON body, if any)."""
        data = None if body is None else json.dumps(body).encode()
        sent = dict(headers or {})
        if data is not None:
            sent["Content-Type"] = "application/json"
        _, _, raw = self.send(method, self.url(path, **query), data, sent, retries=retries)
        return json.loads(raw) if raw else None

    def text_call(
        self,
        method: str,
        path: str,
        body: bytes,
        progress: ProgressFn | None = None,
        headers: dict[str, str | None] | None = None,
        **query: Any,
    ) -> Any:
        """A request with a plaintext body and a JSON answer."""
        sent = {"Content-Type": TEXT, **{k: v for k, v in (headers or {}).items() if v}}
        _, _, raw = self.send(method, self.url(path, **query), body, sent, progress)
        return json.loads(raw)

    # ---- files -----------------------------------------------------------------------

    @operation("createFile")
    def create_file(
        self,
        name: str,
        body: bytes,
        progress: ProgressFn | None = None,
        idempotency_key: str | None = None,
    ) -> File:
        headers = dict[str, str | None](_keyed(idempotency_key))
        return cast(File, self.text_call("POST", "/files", body, progress, headers, name=name))

    @operation("listFiles")
    def list_files(
        self,
        limit: int | None = None,
        cursor: str | None = None,
        prefix: str | None = None,
        q: str | None = None,
    ) -> FileList:
        found = self.call("GET", "/files", limit=limit, cursor=cursor, prefix=prefix, q=q)
        return cast(FileList, found)

    @operation("readFile")
    def read_file(
        self,
        file_id: str,
        if_none_match: str | None = None,
        sink: IO[bytes] | None = None,
        progress: ProgressFn | None = None,
        range: str | None = None,
        if_range: str | None = None,
        if_match: str | None = None,
        if_modified_since: str | None = None,
        if_unmodified_since: str | None = None,
    ) -> bytes:
        """The body (b"" when a 304 answered), or the part `range` names; a redirect to a
        presigned link is followed (the link's store answers the range)."""
        headers = {
            **conditions(if_match, if_none_match, if_modified_since, if_unmodified_since),
            **read_headers(None, range, if_range),
        }
        url = self.url(f"/files/{q(file_id)}")
        return self.send("GET", url, headers=headers, sink=sink, progress=progress)[2]

    @operation("readMetadata")
    def read_metadata(
        self, file_id: str, if_none_match: str | None = None, if_match: str | None = None
    ) -> File:
        """The metadata; its conditions compare the record_etag (a 304 answers None)."""
        headers = conditions(if_match, if_none_match)
        return cast(File, self.call("GET", f"/files/{q(file_id)}/metadata", headers=headers))

    @operation("replaceFile")
    def replace_file(
        self,
        file_id: str,
        body: bytes,
        if_match: str | None = None,
        progress: ProgressFn | None = None,
        if_none_match: str | None = None,
    ) -> File:
        """A retried PUT whose first try landed meets its own If-Match as stale: when the file
        now holds exactly this body, that 412 is the success it hides."""
        headers = {"If-Match": if_match, "If-None-Match": if_none_match}
        path = f"/files/{q(file_id)}"
        try:
            return cast(File, self.text_call("PUT", path, body, progress, headers))
        except ApiError as exc:
            if exc.status == 412 and exc.retried:
                meta = self.read_metadata(file_id)
                if meta["sha256"] == hashlib.sha256(body).hexdigest():
                    return meta
            raise

    @operation("copyFile")
    def copy_file(
        self,
        file_id: str,
        name: str,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> File:
        """A new file `name` with the same body, copied inside the service's store."""
        headers = {**_keyed(idempotency_key), **({"If-Match": if_match} if if_match else {})}
        path = f"/files/{q(file_id)}/copy"
        return cast(File, self.call("POST", path, None, headers, name=name))

    @operation("renameFile")
    def rename_file(self, file_id: str, name: str, if_match: str | None = None) -> File:
        headers = {"If-Match": if_match} if if_match else {}
        return cast(File, self.call("PATCH", f"/files/{q(file_id)}", {"name": name}, headers))

    @operation("deleteFile")
    def delete_file(self, file_id: str, if_match: str | None = None) -> None:
        """A retried DELETE whose first try landed answers 404: the file is gone either way."""
        headers = {"If-Match": if_match} if if_match else {}
        try:
            self.send("DELETE", self.url(f"/files/{q(file_id)}"), headers=headers)
        except ApiError as exc:
            if not (exc.status == 404 and exc.retried):
                raise

    # ---- uploads ---------------------------------------------------------------------

    @operation("startUpload")
    def start_upload(self, name: str, size: int, idempotency_key: str | None = None) -> Upload:
        """A link signed for exactly `size` bytes, reserved against the byte quota."""
        headers = _keyed(idempotency_key)
        found = self.call("POST", "/files/uploads", None, headers, name=name, size=str(size))
        return cast(Upload, found)

    @operation("completeUpload")
    def complete_upload(self, upload_id: str, idempotency_key: str | None = None) -> File:
        path = f"/files/uploads/{q(upload_id)}/complete"
        return cast(File, self.call("POST", path, None, _keyed(idempotency_key)))

    @operation("startReplaceUpload")
    def start_replace_upload(
        self,
        file_id: str,
        size: int,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> Upload:
        """A link to replace a body of any size (If-Match checked now and on completion);
        an older server lacks the route (`Client.offers` tells)."""
        headers = {**_keyed(idempotency_key), **({"If-Match": if_match} if if_match else {})}
        path = f"/files/{q(file_id)}/uploads"
        return cast(Upload, self.call("POST", path, None, headers, size=str(size)))

    @operation("putLocalBlob")
    def put_local_blob(self, token: str, body: bytes) -> None:
        self.send("PUT", self.url(f"/blobs/{q(token)}"), body, {"Content-Type": TEXT}, auth=False)

    @operation("getLocalBlob")
    def get_local_blob(
        self, token: str, range: str | None = None, if_range: str | None = None
    ) -> bytes:
        headers = read_headers(None, range, if_range)
        return self.send("GET", self.url(f"/blobs/{q(token)}"), headers=headers, auth=False)[2]

    def upload(self, name: str, body: bytes, progress: ProgressFn | None = None) -> File:
        """A body of any size up to the upload limit: to the presigned link, then completed."""
        return self.finish_upload(self.start_upload(name, len(body)), body, progress)

    def finish_upload(self, link: Upload, body: bytes, progress: ProgressFn | None) -> File:
        """The body to an upload link (a new file's or a replacement's), then completed."""
        self.send(link["method"], link["url"], body, link["headers"], progress, auth=False)
        completed = self.call("POST", link["complete_url"], None, _keyed(None))
        return cast(File, completed)

    def offers(self, method: str, path: str) -> bool:
        """Whether this server's OpenAPI document has the operation (path parameters by any
        name): how a route added by a later server version is found."""
        shape = re.sub(r"\{[^}/]+\}", "{}", path)
        paths = self.openapi().get("paths", {})
        return any(
            re.sub(r"\{[^}/]+\}", "{}", known) == shape and method.lower() in ops
            for known, ops in paths.items()
        )

    def download(self, url: str, sink: IO[bytes], progress: ProgressFn | None = None) -> None:
        """A download link (an export's): no key is sent with it."""
        accept = {"Accept": "application/zip, */*"}
        self.send("GET", self.url(url), headers=accept, auth=False, sink=sink, progress=progress)

    # ---- tasks, usage, service -------------------------------------------------------

    @operation("startExport")
    def start_export(self, idempotency_key: str | None = None) -> Task:
        return cast(Task, self.call("POST", "/exports", None, _keyed(idempotency_key)))

    @operation("getTask")
    def get_task(self, task_id: str) -> Task:
        return cast(Task, self.call("GET", f"/tasks/{q(task_id)}"))

    @operation("cancelTask")
    def cancel_task(self, task_id: str) -> Task:
        return cast(Task, self.call("DELETE", f"/tasks/{q(task_id)}"))

    @operation("getUsage")
    def get_usage(self) -> Usage:
        return cast(Usage, self.call("GET", "/usage"))

    @operation("health")
    def health(self) -> Health:
        """200 or 503, both with the report."""
        try:
            return cast(Health, self.call("GET", "/health", retries=0))
        except ApiError as exc:
            if exc.status == 503 and isinstance(exc.body, dict) and "checks" in exc.body:
                return cast(Health, exc.body)
            raise

    @operation("openapi")
    def openapi(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.call("GET", "/openapi.json"))

    @operation("webPage")
    def web_page(self) -> str:
        return self.send("GET", self.url("/"), auth=False)[2].decode()

    @operation("apiReference")
    def api_reference(self) -> str:
        return self.send("GET", self.url("/docs"), auth=False)[2].decode()

    @operation("staticAsset")
    def static_asset(self, name: str) -> str:
        return self.send("GET", self.url(f"/static/{q(name)}"), auth=False)[2].decode()


def _keyed(idempotency_key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": idempotency_key or new_key()}
