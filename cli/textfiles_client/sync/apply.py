"""Doing a plan's pull side, one action at a time, each recorded in the state only once it is
complete (so an interrupted sync, run again, neither loses nor repeats anything): downloads,
local moves and removals, conflicts. The push side is push.py."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from textfiles_client.client import ApiError, Client
from textfiles_client.sync import files, state
from textfiles_client.sync.plan import Action
from textfiles_client.sync.remote import RemoteFile
from textfiles_client.sync.state import Entry, State

Report = Callable[..., None]  # report(kind, name, detail="", **fields)


class Deferred(Exception):
    """An action not done now, for a reason the next pass sees afresh (reported, not fatal)."""


class Pulls:
    def __init__(self, client: Client, folder: Path, st: State, report: Report) -> None:
        self.client, self.folder, self.state, self.report = client, folder, st, report

    def record(self, file_id: str, entry: Entry | None) -> None:
        if entry is None:
            self.state.files.pop(file_id, None)
        else:
            self.state.files[file_id] = entry
        state.save(self.folder, self.state)

    def entry(self, name: str, remote: RemoteFile, sha256: str | None = None) -> Entry:
        """The record of a local file that holds the body `sha256` (default: the remote's)."""
        info = (self.folder / name).stat()
        held = sha256 or remote.sha256
        mtime = info.st_mtime_ns if held == files.digest(self.folder / name) else -1
        return Entry(name, held, info.st_size if mtime >= 0 else remote.size, mtime)

    def make_room(self, name: str, replaceable: str | None, wanted: str) -> bool:
        """Whether `name` is free for a body `wanted` (False: it holds it already). A local
        file there holding neither it nor `replaceable` is moved aside, as a conflict."""
        held = files.digest(self.folder / name)
        if held is None or held == replaceable:
            return True
        if held == wanted:
            return False
        moved = files.aside(self.folder, name)
        self.report("conflict", name, f'the local file is kept as "{moved}"', kept=moved)
        return True

    def remove(self, act: Action) -> None:
        assert act.base is not None and act.file_id is not None
        path = self.folder / act.name
        held = files.digest(path)
        if held in (act.base.sha256, None):  # None: gone here too, meanwhile
            path.unlink(missing_ok=True)
            self.report("remove", act.name, act.reason)
        else:  # edited meanwhile: the next pass uploads it as a new file
            self.report("keep", act.name, "deleted in the service, changed here: kept")
        self.record(act.file_id, None)

    def move(self, act: Action) -> None:
        assert act.base and act.old and act.remote and act.file_id
        expected = act.local.sha256 if act.local else act.base.sha256
        if files.digest(self.folder / act.old) != expected:
            raise Deferred(f"{act.old} changed here during the sync")
        if act.old != act.name:
            self.make_room(act.name, None, "")
            os.rename(self.folder / act.old, self.folder / act.name)
        self.report("move", act.name, act.reason, old=act.old)
        self.record(act.file_id, self.entry(act.name, act.remote, act.remote.sha256))

    def download(self, act: Action) -> None:
        assert act.remote and act.file_id
        replaceable = act.base.sha256 if act.base and act.base.name == act.name else None
        with files.landing(self.folder) as (sink, temp):
            try:
                self.client.read_file(act.file_id, sink=sink)
            except ApiError as exc:
                if exc.status in (404, 410):  # gone meanwhile: its change comes next
                    raise Deferred(f"{act.name} is gone from the service meanwhile") from None
                raise
            files.close(sink)
            got = files.digest(temp) or ""
            if self.make_room(act.name, replaceable, got):
                files.mode_of_new_file(temp)
                os.replace(temp, self.folder / act.name)
        self._leave_old(act)
        self.report("download", act.name, act.reason, size=act.remote.size)
        self.record(act.file_id, self.entry(act.name, act.remote, got))

    def _leave_old(self, act: Action) -> None:
        """A renamed file's old local name goes, if it still holds what the state knew."""
        if act.old and act.base and act.old != act.name:
            old = self.folder / act.old
            if files.digest(old) == act.base.sha256:
                old.unlink()

    def conflict(self, act: Action) -> None:
        assert act.old is not None
        if files.digest(self.folder / act.old) is not None:
            moved = files.aside(self.folder, act.old)
            detail = f'changed here and in the service: yours is kept as "{moved}"'
            self.report("conflict", act.old, detail, kept=moved)
        self.download(Action("download", act.name, act.file_id, act.remote, base=None))

    def same(self, act: Action) -> None:
        assert act.remote and act.file_id
        if act.old and act.old != act.name:
            self.make_room(act.name, None, "")
            os.rename(self.folder / act.old, self.folder / act.name)
        self.report("same", act.name, "the same body on both sides")
        self.record(act.file_id, self.entry(act.name, act.remote))

    def forget(self, act: Action) -> None:
        assert act.file_id
        if act.local is None and not os.path.exists(self.folder / act.name):
            self.report("forget", act.name, "deleted on both sides")
        self.record(act.file_id, None)
