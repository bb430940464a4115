"""The local folder driver: one file per key, written atomically and fsynced."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from chalicelib import config, signing
from chalicelib.blobs import BlobInfo, BlobMissing, PresignedUpload
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

    def head(self, key: str) -> BlobInfo:
        try:
            stat = self._path(key).stat()
        except FileNotFoundError as exc:
            raise BlobMissing(key) from exc
        return BlobInfo(key, stat.st_size, stat.st_mtime_ns // 1000)

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

    def upload_url(self, key: str, expires_s: int, max_bytes: int) -> PresignedUpload:
        token = signing.sign({"put": key, "max": max_bytes}, expires_s)
        url = f"{config.public_base_url()}/blobs/{quote(token)}"
        return PresignedUpload(url, "PUT", {"Content-Type": "text/plain; charset=utf-8"})

    def download_url(self, key: str, expires_s: int, filename: str) -> str:
        token = signing.sign({"get": key, "filename": filename}, expires_s)
        return f"{config.public_base_url()}/blobs/{quote(token)}"

    def ping(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendUnavailable("storage", str(exc)) from exc
        if not os.access(self.root, os.W_OK):
            raise BackendUnavailable("storage", "folder not writable")
