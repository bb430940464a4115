"""What a sync does, decided from three views and nothing else: the state (both sides as the
last sync left them), the folder now, and the service's files changed since (or all of them).

Per file the state knows: changed on one side only, that side's change is made on the other
(a download, a local move or removal; an upload, a remote rename or delete, each with If-Match
the state's ETag). Changed on both: the same body is simply recorded; a body edited here and
deleted there is uploaded again as a new file; deleted here and changed there is downloaded;
two different bodies are a conflict: the local one is moved aside (a name with a conflict
suffix, pushed as a new file) and the service's version takes the name. A local file the state
does not know is created, unless a file the state does not know either came from the service
under its name (the same body: recorded; another: a conflict). A local file that disappeared
while a new one with its exact body appeared is a rename.
"""

from __future__ import annotations

from dataclasses import dataclass

from textfiles_client.sync.remote import RemoteFile
from textfiles_client.sync.scan import LocalFile, local_name_problem
from textfiles_client.sync.state import Entry

PULLS = ("remove", "move", "download", "conflict", "same", "forget")


@dataclass(frozen=True)
class Action:
    kind: str  # PULLS; then upload, create, rename, delete; skip
    name: str  # the local file it is about (for a move, a download: where it lands)
    file_id: str | None = None
    remote: RemoteFile | None = None
    local: LocalFile | None = None
    base: Entry | None = None  # the state's record of the file
    old: str | None = None  # the name it leaves (a move, a download of a renamed file)
    reason: str = ""


@dataclass
class Views:
    files: dict[str, Entry]  # the state
    remote: dict[str, RemoteFile | None]  # touched ids (all, when full)
    full: bool
    local: dict[str, LocalFile]


def plan(views: Views) -> list[Action]:
    if views.full:  # an id the listing lacks is gone
        gone = {i: None for i in views.files if i not in views.remote}
        views.remote = {**views.remote, **gone}
    claimed: set[str] = set()
    actions: list[Action] = []
    for file_id, base in sorted(views.files.items(), key=lambda kv: kv[1].name):
        actions += _known(views, file_id, base, claimed)
    for file_id, remote in sorted(views.remote.items()):
        if remote is not None and file_id not in views.files:
            actions += _new_remote(views, remote, claimed)
    for name, local in sorted(views.local.items()):
        if name not in claimed:
            actions.append(_new_local(local))
    order = {kind: n for n, kind in enumerate((*PULLS, "rename", "delete", "upload", "create"))}
    return sorted(actions, key=lambda a: order.get(a.kind, len(order)))


def _known(views: Views, file_id: str, base: Entry, claimed: set[str]) -> list[Action]:
    local = views.local.get(base.name)
    if local is not None:
        claimed.add(base.name)
    here = local is None or local.sha256 != base.sha256
    remote = views.remote.get(file_id, _SAME)
    there = remote is not _SAME and (
        remote is None or (remote.name, remote.sha256) != (base.name, base.sha256)
    )
    if not there:
        return _pushed(views, file_id, base, local, claimed) if here else []
    if not here:
        return _pulled(file_id, base, remote)
    return _both(file_id, base, local, remote)


_SAME = RemoteFile("", "", "", -1)  # not touched since the state was written
_GONE_THERE = "deleted in the service"
_GONE_HERE = "deleted here (in the service's trash for 30 days)"


def _pulled(file_id: str, base: Entry, remote: RemoteFile | None) -> list[Action]:
    """Changed in the service only."""
    if remote is None:
        return [Action("remove", base.name, file_id, base=base, reason=_GONE_THERE)]
    problem = local_name_problem(remote.name)
    if problem:
        return [Action("skip", remote.name, file_id, remote, reason=problem)]
    if remote.sha256 == base.sha256:
        why = f"renamed in the service from {base.name}"
        return [Action("move", remote.name, file_id, remote, base=base, old=base.name, reason=why)]
    old = base.name if remote.name != base.name else None
    return [Action("download", remote.name, file_id, remote, base=base, old=old)]


def _pushed(
    views: Views, file_id: str, base: Entry, local: LocalFile | None, claimed: set[str]
) -> list[Action]:
    """Changed in the folder only."""
    if local is None:
        moved = _renamed_to(views, base, claimed)
        if moved is not None:
            claimed.add(moved.name)
            why = f"renamed here from {base.name}"
            return [Action("rename", moved.name, file_id, local=moved, base=base, reason=why)]
        return [Action("delete", base.name, file_id, base=base, reason=_GONE_HERE)]
    if local.problem:
        return [Action("skip", local.name, file_id, local=local, reason=local.problem)]
    return [Action("upload", local.name, file_id, local=local, base=base)]


def _renamed_to(views: Views, base: Entry, claimed: set[str]) -> LocalFile | None:
    """A local file the state does not know, with exactly the vanished file's body."""
    known = {entry.name for entry in views.files.values()}
    incoming = {r.name for i, r in views.remote.items() if r and i not in views.files}
    for name, local in sorted(views.local.items()):
        free = name not in known and name not in claimed and name not in incoming
        if free and local.sha256 == base.sha256 and not local.problem:
            return local
    return None


def _both(
    file_id: str, base: Entry, local: LocalFile | None, remote: RemoteFile | None
) -> list[Action]:
    """Changed on both sides."""
    if remote is None and local is None:
        return [Action("forget", base.name, file_id, base=base)]
    if remote is None:
        assert local is not None
        why = "deleted in the service, changed here: uploaded again as a new file"
        return [Action("forget", base.name, file_id, base=base), _new_local(local, why)]
    problem = local_name_problem(remote.name)
    if problem:
        return [Action("skip", remote.name, file_id, remote, reason=problem)]
    if local is None:
        why = "deleted here, changed in the service: downloaded again"
        return [Action("download", remote.name, file_id, remote, base=base, reason=why)]
    if local.sha256 == remote.sha256:
        return [Action("same", remote.name, file_id, remote, local, base, old=base.name)]
    if remote.sha256 == base.sha256 and not local.problem:  # renamed there, edited here
        there_now = base._replace(name=remote.name)
        edit = local._replace(name=remote.name)
        follow = Action("upload", remote.name, file_id, local=edit, base=there_now)
        return [Action("move", remote.name, file_id, remote, local, base, old=base.name), follow]
    why = "changed here and in the service"
    return [Action("conflict", remote.name, file_id, remote, local, base, base.name, why)]


def _new_remote(views: Views, remote: RemoteFile, claimed: set[str]) -> list[Action]:
    problem = local_name_problem(remote.name)
    if problem:
        return [Action("skip", remote.name, remote.id, remote, reason=problem)]
    local = views.local.get(remote.name)
    claimed.add(remote.name)
    if local is not None and local.sha256 == remote.sha256:
        return [Action("same", remote.name, remote.id, remote, local)]
    return [Action("download", remote.name, remote.id, remote)]


def _new_local(local: LocalFile, reason: str = "") -> Action:
    if local.problem:
        return Action("skip", local.name, local=local, reason=local.problem)
    return Action("create", local.name, local=local, reason=reason)
