"""Where an export stands between steps, stored in the task's checkpoint as JSON.

The JSON is the shape every version so far has written (a task checkpointed by an older
version resumes as it is): `{}` before the first step, then `phase`, the archive's `key`,
the multipart `upload`, `as_of`, `after` (the last file id archived), `offset` (the archive
size so far), `seq` (chunks written), `pending_from`/`pending_bytes` (chunks not yet in a
part), `parts` (`[[number, etag], ...]`), `written`, `skipped`; from the tidy phase on,
`size` and `parts_total` as well."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

Phase = Literal["start", "files", "finish", "tidy"]
_FIELDS = (
    "phase", "key", "upload", "as_of", "after", "offset", "seq", "pending_from",
    "pending_bytes", "parts", "written", "skipped",
)  # fmt: skip


@dataclass(frozen=True)
class ExportCheckpoint:
    phase: Phase = "start"
    key: str = ""
    upload: str = ""
    as_of: int = 0
    after: str = ""
    offset: int = 0
    seq: int = 0
    pending_from: int = 0
    pending_bytes: int = 0
    parts: tuple[tuple[int, str], ...] = ()
    written: int = 0
    skipped: int = 0
    size: int | None = None
    parts_total: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportCheckpoint:
        if not data:
            return cls()
        values = {name: data[name] for name in _FIELDS if name in data}
        values["parts"] = tuple((int(n), str(etag)) for n, etag in data.get("parts", []))
        for name in ("size", "parts_total"):
            if data.get(name) is not None:
                values[name] = int(data[name])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        if self.phase == "start":
            return {}
        data = {name: getattr(self, name) for name in _FIELDS}
        data["parts"] = [[number, etag] for number, etag in self.parts]
        if self.size is not None:
            data.update(size=self.size, parts_total=self.parts_total)
        return data

    @classmethod
    def started(cls, key: str, upload: str, as_of: int) -> ExportCheckpoint:
        """The upload is open; files created up to `as_of` go in the archive."""
        return cls(phase="files", key=key, upload=upload, as_of=as_of)

    def chunk_written(
        self, after: str, length: int, written: int, skipped: int
    ) -> ExportCheckpoint:
        """A chunk of `length` bytes (the batch up to file id `after`) is a work object."""
        return replace(
            self,
            after=after,
            offset=self.offset + length,
            seq=self.seq + 1,
            pending_bytes=self.pending_bytes + length,
            written=self.written + written,
            skipped=self.skipped + skipped,
        )

    def part_uploaded(self, etag: str) -> ExportCheckpoint:
        """The pending chunks are the next part of the upload."""
        parts = (*self.parts, (self.next_part, etag))
        return replace(self, parts=parts, pending_from=self.seq, pending_bytes=0)

    @property
    def next_part(self) -> int:
        return len(self.parts) + 1

    def all_archived(self) -> ExportCheckpoint:
        return replace(self, phase="finish")

    def completed(self, size: int) -> ExportCheckpoint:
        """The last part (with the central directory) is uploaded and the upload complete."""
        return replace(self, phase="tidy", size=size, parts_total=self.next_part)
