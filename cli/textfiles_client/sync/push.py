"""Doing a plan's push side: uploads, creations, renames and deletes in the service, each
guarded (If-Match the ETag the state recorded; a create fails on a name taken meanwhile), and
recorded in the state only once the service has answered."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from textfiles_client import names
from textfiles_client.client import ApiError, Client
from textfiles_client.sync import remote, scan
from textfiles_client.sync.apply import Deferred, Pulls, Report
from textfiles_client.sync.plan import Action
from textfiles_client.sync.state import Entry, State
from textfiles_client.terminal import size
from textfiles_client.types import File


class Skipped(Exception):
    """Not pushed, and pushing again will not help until the file changes: reported."""


class Limits(NamedTuple):
    inline: int
    upload: int


def limits(client: Client) -> Limits:
    usage = client.get_usage()
    return Limits(usage["max_inline_bytes"], usage["max_upload_bytes"])


class Pushes(Pulls):
    def __init__(
        self, client: Client, folder: Path, st: State, report: Report, limits: Limits
    ) -> None:
        super().__init__(client, folder, st, report)
        self.limits = limits
        self._large: bool | None = None

    def replaces_large(self) -> bool:
        """Whether the server has POST /files/{id}/uploads (asked once, when first needed)."""
        if self._large is None:
            self._large = self.client.offers(*names.REPLACE_UPLOAD)
        return self._large

    def _body(self, act: Action, replacing: bool) -> tuple[bytes, Entry]:
        """The local file's bytes now, and the record they make once pushed."""
        path = self.folder / act.name
        before = path.stat()
        body = path.read_bytes()
        now = scan.read(self.folder, act.name)
        if now.problem:
            raise Skipped(now.problem)
        mtime = before.st_mtime_ns if before.st_mtime_ns == now.mtime_ns else -1
        if len(body) > self.limits.upload:
            raise Skipped(
                f"{size(len(body))}, above the service's limit ({size(self.limits.upload)})"
            )
        if replacing and len(body) > self.limits.inline and not self.replaces_large():
            raise Skipped(
                f"{size(len(body))}, above the inline limit ({size(self.limits.inline)}), and"
                " this server cannot yet replace a body that large (POST /files/{id}/uploads)"
            )
        return body, Entry(act.name, now.sha256, len(body), mtime)

    def upload(self, act: Action) -> None:
        assert act.base and act.file_id
        body, entry = self._body(act, True)
        try:
            if len(body) <= self.limits.inline:
                self.client.replace_file(act.file_id, body, act.base.etag)
            else:
                link = self.client.start_replace_upload(act.file_id, len(body), act.base.etag)
                self.client.finish_upload(link, body, None)
        except ApiError as exc:
            self._refused(exc, act)
        self.report("upload", act.name, act.reason, size=len(body))
        self.record(act.file_id, entry)

    def create(self, act: Action) -> None:
        body, entry = self._body(act, False)
        try:
            if len(body) <= self.limits.inline:
                made: File = self.client.create_file(act.name, body)
            else:
                made = self.client.upload(act.name, body)
        except ApiError as exc:
            self._refused(exc, act)
        self.report("create", act.name, act.reason, size=len(body), id=made["id"])
        self.record(made["id"], entry._replace(sha256=made["sha256"]))

    def rename(self, act: Action) -> None:
        assert act.base and act.file_id and act.local
        try:
            remote.rename(self.client, act.file_id, act.name, act.base.sha256)
        except ApiError as exc:
            self._refused(exc, act)
        self.report("rename", act.name, act.reason, old=act.base.name)
        self.record(act.file_id, act.base._replace(name=act.name, mtime_ns=act.local.mtime_ns))

    def delete(self, act: Action) -> None:
        assert act.base and act.file_id
        try:
            remote.delete(self.client, act.file_id, act.base.sha256)
        except ApiError as exc:
            self._refused(exc, act)
        self.report("delete", act.name, act.reason)
        self.record(act.file_id, None)

    def _refused(self, exc: ApiError, act: Action) -> None:
        """A refusal the next pass resolves is Deferred; one it cannot is Skipped."""
        if exc.status == 412 or (exc.status == 404 and act.file_id):
            raise Deferred(f"{act.name} changed in the service meanwhile") from None
        if exc.status == 409:
            raise Deferred(f"a file named {act.name} appeared in the service meanwhile") from None
        if exc.status in (413, 415) or exc.code in ("QuotaExceeded", "BadRequest"):
            raise Skipped(exc.message) from None
        raise exc
