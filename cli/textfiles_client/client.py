"""A typed client of the textfiles API: one method per operation of /openapi.json."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import IO, Any, TypeVar, cast

from textfiles_client.history import HistoryOperations
from textfiles_client.types import File, FileList, Health, Task, Upload, Usage

TEXT = "text/plain; charset=utf-8"
F = TypeVar("F", bound=Callable[..., Any])
ProgressFn = Callable[[int, int], None]


def operation(operation_id: str) -> Callable[[F], F]:
    """Mark a method as the client of one operation of the OpenAPI document."""

    def mark(method: F) -> F:
        method.__operation__ = operation_id  # type: ignore[attr-defined]
        return method

    return mark


class ApiError(Exception):
    """An answer of the API that is not a success: its status, Code and Message."""

    def __init__(self, status: int, code: str, message: str, body: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.body = status, code, message, body


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects (a large body answers with a presigned link), never taking the key
    to another host."""

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != req.host:
            for name in ("Authorization", "X-api-key"):
                new.remove_header(name)
        return new


class _Reader:
    """A body that reports how much of it was sent."""

    def __init__(self, data: bytes, progress: ProgressFn | None) -> None:
        self.data, self.sent, self.progress = data, 0, progress

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.sent + size
        chunk = self.data[self.sent : end]
        self.sent += len(chunk)
        if self.progress:
            self.progress(self.sent, len(self.data))
        return chunk


def _error(status: int, raw: bytes) -> ApiError:
    try:
        body = json.loads(raw)
        return ApiError(status, str(body.get("Code")), str(body.get("Message")), body)
    except (ValueError, AttributeError):
        text = raw.decode("utf-8", "replace").strip()[:500]
        return ApiError(status, "HttpError", text or f"HTTP {status}")


class Client(HistoryOperations):
    """The API at `base_url` with an API key. Every method raises ApiError on failure
    (history's operations: textfiles_client/history.py)."""

    def __init__(self, base_url: str, key: str | None = None, timeout: float = 60) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_Redirects())

    # ---- transport -------------------------------------------------------------------

    def url(self, path: str, **query: Any) -> str:
        params = {k: str(v) for k, v in query.items() if v is not None}
        tail = "?" + urllib.parse.urlencode(params) if params else ""
        return path if path.startswith("http") else f"{self.base_url}{path}{tail}"

    def send(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        progress: ProgressFn | None = None,
        auth: bool = True,
        sink: IO[bytes] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request; its status, headers and body (or the body written to `sink`)."""
        all_headers = dict(headers or {})
        if auth and self.key:
            all_headers["Authorization"] = f"Bearer {self.key}"
        data: Any = None
        if body is not None:
            data = _Reader(body, progress)
            all_headers["Content-Length"] = str(len(body))
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.status, dict(response.headers), _read(response, sink, progress)
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return 304, dict(exc.headers), b""
            raise _error(exc.code, exc.read()) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError(0, "ConnectionError", f"Cannot reach {url}: {reason}") from None

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        """A request with a JSON answer (and a JSON body, if any)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        _, _, raw = self.send(method, self.url(path, **query), data, headers)
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
    def create_file(self, name: str, body: bytes, progress: ProgressFn | None = None) -> File:
        return cast(File, self.text_call("POST", "/files", body, progress, name=name))

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
    ) -> bytes:
        """The body (b"" when If-None-Match matched); a redirect to a presigned link is followed."""
        headers = {"If-None-Match": if_none_match} if if_none_match else {}
        url = self.url(f"/files/{_q(file_id)}")
        return self.send("GET", url, headers=headers, sink=sink, progress=progress)[2]

    @operation("readMetadata")
    def read_metadata(self, file_id: str) -> File:
        return cast(File, self.call("GET", f"/files/{_q(file_id)}/metadata"))

    @operation("replaceFile")
    def replace_file(self, file_id: str, body: bytes, if_match: str | None = None) -> File:
        headers = {"If-Match": if_match}
        return cast(File, self.text_call("PUT", f"/files/{_q(file_id)}", body, headers=headers))

    @operation("renameFile")
    def rename_file(self, file_id: str, name: str) -> File:
        return cast(File, self.call("PATCH", f"/files/{_q(file_id)}", {"name": name}))

    @operation("deleteFile")
    def delete_file(self, file_id: str) -> None:
        self.send("DELETE", self.url(f"/files/{_q(file_id)}"))

    # ---- uploads ---------------------------------------------------------------------

    @operation("startUpload")
    def start_upload(self, name: str, size: int) -> Upload:
        """A link signed for exactly `size` bytes, reserved against the byte quota."""
        return cast(Upload, self.call("POST", "/files/uploads", name=name, size=str(size)))

    @operation("completeUpload")
    def complete_upload(self, upload_id: str) -> File:
        return cast(File, self.call("POST", f"/files/uploads/{_q(upload_id)}/complete"))

    @operation("putLocalBlob")
    def put_local_blob(self, token: str, body: bytes) -> None:
        self.send("PUT", self.url(f"/blobs/{_q(token)}"), body, {"Content-Type": TEXT}, auth=False)

    @operation("getLocalBlob")
    def get_local_blob(self, token: str) -> bytes:
        return self.send("GET", self.url(f"/blobs/{_q(token)}"), auth=False)[2]

    def upload(self, name: str, body: bytes, progress: ProgressFn | None = None) -> File:
        """A body of any size up to the upload limit: to the presigned link, then completed."""
        link = self.start_upload(name, len(body))
        self.send(link["method"], link["url"], body, link["headers"], progress, auth=False)
        return self.complete_upload(link["upload_id"])

    def download(self, url: str, sink: IO[bytes], progress: ProgressFn | None = None) -> None:
        """A download link (an export's): no key is sent with it."""
        accept = {"Accept": "application/zip, */*"}
        self.send("GET", self.url(url), headers=accept, auth=False, sink=sink, progress=progress)

    # ---- tasks, usage, service -------------------------------------------------------

    @operation("startExport")
    def start_export(self) -> Task:
        return cast(Task, self.call("POST", "/exports"))

    @operation("getTask")
    def get_task(self, task_id: str) -> Task:
        return cast(Task, self.call("GET", f"/tasks/{_q(task_id)}"))

    @operation("cancelTask")
    def cancel_task(self, task_id: str) -> Task:
        return cast(Task, self.call("DELETE", f"/tasks/{_q(task_id)}"))

    @operation("getUsage")
    def get_usage(self) -> Usage:
        return cast(Usage, self.call("GET", "/usage"))

    @operation("health")
    def health(self) -> Health:
        """200 or 503, both with the report."""
        try:
            return cast(Health, self.call("GET", "/health"))
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
        return self.send("GET", self.url(f"/static/{_q(name)}"), auth=False)[2].decode()


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _read(response: Any, sink: IO[bytes] | None, progress: ProgressFn | None) -> bytes:
    total = int(response.headers.get("Content-Length") or 0)
    chunks: list[bytes] = []
    done = 0
    while chunk := response.read(65536):
        done += len(chunk)
        if sink is not None:
            sink.write(chunk)
        else:
            chunks.append(chunk)
        if progress:
            progress(done, max(total, done))
    return b"".join(chunks)
