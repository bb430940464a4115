"""GET /files/{id}/diff: a unified diff between two kept versions of a file.

Bounded: each side is at most DIFF_MAX_BYTES (default 1 MiB), else 413 before any body is
read, so a diff never runs a function out of time or memory (docs/history.md). difflib is
imported on use only (diffing.py bounds its time on repetitive text): no cold start pays
for it.
"""

from __future__ import annotations

from chalicelib import clock, config
from chalicelib.errors import TooLarge
from chalicelib.files.history import store, versions
from chalicelib.files.history.store import Version
from chalicelib.tenants.apikeys import Tenant

NO_NEWLINE = "\\ No newline at end of file\n"


def _pick(found: list[Version], number: int | None) -> Version | None:
    for version in found:
        if version.version == number or (number is None and version.superseded_us is None):
            return version
    return None


def _sides(tenant: Tenant, file_id: str, a: int, b: int | None) -> tuple[Version, Version]:
    found = store.pair(tenant.id, file_id, a, b, clock.now_us())
    old, new = _pick(found, a), _pick(found, b)
    if old is None:
        raise versions.no_version(file_id, a)
    if new is None:
        raise versions.no_version(file_id, "current" if b is None else b)
    limit = config.diff_max_bytes()
    for side in (old, new):
        if side.size > limit:
            raise TooLarge(
                f"Version {side.version} is {side.size} bytes; a diff compares versions of at"
                f" most {limit} bytes (DIFF_MAX_BYTES). Download both versions instead.",
                limit=limit,
            )
    return old, new


def _lines(version: Version) -> list[str]:
    from chalicelib.blobs import BlobMissing, blobs

    try:
        return blobs().get(version.blob_key).decode("utf-8").splitlines(keepends=True)
    except BlobMissing:  # purged since the read: it has expired
        raise versions.no_version(version.file_id, version.version) from None


def _label(version: Version) -> str:
    return f"{version.name}@v{version.version}"


def diff(tenant: Tenant, file_id: str, raw_from: str | None, raw_to: str | None) -> str:
    """The unified diff from version `from` to version `to` (default: the current one)."""
    from chalicelib.files.history import diffing

    a = versions.parse_number(raw_from, "from")
    b = None if raw_to is None else versions.parse_number(raw_to, "to")
    old, new = _sides(tenant, file_id, a, b)
    if old.sha256 == new.sha256:
        return ""
    out = []
    for line in diffing.unified(_lines(old), _lines(new), _label(old), _label(new)):
        out.append(line if line.endswith("\n") else line + "\n" + NO_NEWLINE)
    return "".join(out)
