"""The local folder driver: one file per key, written atomically and fsynced."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

from chalicelib import config, ids
from chalicelib.blobs.base import BlobInfo, BlobMissing, PresignedUpload
from chalicelib.blobs.link_tokens import sign
from chalicelib.errors import BackendUnavailable


class LocalBlobStore:
    name = "localfs"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"blob key escapes the store: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            raise BackendUnavailable("storage", str(exc)) from exc

    def get(self, key: str, max_bytes: int | None = None) -> bytes:
        try:
            with self._path(key).open("rb") as handle:
                return handle.read() if max_bytes is None else handle.read(max_bytes)
        except FileNotFoundError as exc:
            raise BlobMissing(key) from exc
        except OSError as exc:
            raise BackendUnavailable("storage", str(exc)) from exc

    def chunks(self, key: str, size: int) -> Iterator[bytes]:
        try:
            with self._path(key).open("rb") as handle:
                while chunk := handle.read(size):
                    yield chunk
        except FileNotFoundError as exc:
            raise BlobMissing(key) from exc
        except OSError as exc:
            raise BackendUnavailable("storage", str(exc)) from exc

    def head(self, key: str) -> BlobInfo:
        try:
            stat = self._path(key).stat()
        except FileNotFoundError as exc:
            raise BlobMissing(key) from exc
        return BlobInfo(key, stat.st_size, stat.st_mtime_ns // 1000)

    def copy(self, source: str, key: str) -> None:
        """A hard link where the folder allows one (no byte is read: objects are immutable,
        a put replaces the file rather than writing into it), else a streamed copy."""
        path, src = self._path(key), self._path(source)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.parent / f".tmp-{ids.new_id()}"
            try:
                os.link(src, tmp)
            except FileNotFoundError:
                raise
            except OSError:
                self._copy_bytes(src, tmp)
            os.replace(tmp, path)
        except FileNotFoundError as exc:
            raise BlobMissing(source) from exc
        except OSError as exc:
            raise BackendUnavailable("storage", str(exc)) from exc

    @staticmethod
    def _copy_bytes(src: Path, tmp: Path) -> None:
        try:
            with tmp.open("xb") as handle, src.open("rb") as source:
                shutil.copyfileobj(source, handle)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise BackendUnavailable("storage", str(exc)) from exc

    def list(self, prefix: str) -> Iterator[BlobInfo]:
        if not self.root.exists():
            return
        for path in sorted(self.root.rglob("*")):
            if not path.is_file() or path.name.startswith(".tmp-"):
                continue
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix):
                stat = path.stat()
                yield BlobInfo(key, stat.st_size, stat.st_mtime_ns // 1000)

    def upload_url(self, key: str, expires_s: int, size: int) -> PresignedUpload:
        token = sign({"put": key, "size": size}, expires_s)
        url = f"{config.public_base_url()}/blobs/{quote(token)}"
        headers = {"Content-Type": "text/plain; charset=utf-8", "Content-Length": str(size)}
        return PresignedUpload(url, "PUT", headers)

    def download_url(self, key: str, expires_s: int, filename: str) -> str:
        token = sign({"get": key, "filename": filename}, expires_s)
        return f"{config.public_base_url()}/blobs/{quote(token)}"

    def read_url(self, key: str, expires_s: int) -> str:
        token = sign({"get": key}, expires_s)
        return f"{config.public_base_url()}/blobs/{quote(token)}"

    def ping(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendUnavailable("storage", str(exc)) from exc
        if not os.access(self.root, os.W_OK):
            raise BackendUnavailable("storage", "folder not writable")

    # --- multipart writes and paged listing (tasks: exports, purge) -------------------

    min_part_bytes = 1

    def list_page(self, prefix: str, after: str, limit: int) -> Sequence[BlobInfo]:
        found = sorted((b for b in self.list(prefix) if b.key > after), key=lambda b: b.key)
        return found[:limit]

    def _staging(self, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise ValueError(f"not an upload id: {upload_id!r}")
        return self.root.parent / f"{self.root.name}-multipart" / upload_id

    def start_multipart(self, key: str, content_type: str) -> str:
        self._path(key)  # the key must be valid now, not at the end
        upload_id = ids.new_id()
        try:
            self._staging(upload_id).mkdir(parents=True)
        except OSError as exc:
            raise BackendUnavailable("storage", str(exc)) from exc
        return upload_id

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        staging = self._staging(upload_id)
        if not staging.is_dir():
            raise BlobMissing(f"{key} (upload {upload_id})")
        try:
            fd, tmp = tempfile.mkstemp(dir=staging, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, staging / f"{number:05d}")
        except OSError as exc:
            raise BackendUnavailable("storage", str(exc)) from exc
        return hashlib.md5(data, usedforsecurity=False).hexdigest()

    def complete_multipart(
        self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]
    ) -> None:
        staging = self._staging(upload_id)
        if not staging.is_dir():
            raise BlobMissing(f"{key} (upload {upload_id})")
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as out:
                for number, _etag in sorted(parts):
                    with (staging / f"{number:05d}").open("rb") as part:
                        shutil.copyfileobj(part, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            raise BackendUnavailable("storage", str(exc)) from exc
        shutil.rmtree(staging, ignore_errors=True)

    def abort_multipart(self, key: str, upload_id: str) -> None:
        shutil.rmtree(self._staging(upload_id), ignore_errors=True)
