"""The bytes of an export's zip archive, written a chunk at a time: each chunk's entries at
the archive offset where the previous chunk ended, and at the end the central directory
from the entries' records (kept in the export's work objects between steps)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import zipfile


class _Sink(io.RawIOBase):
    """A write-only stream whose position starts at `base`: zipfile writes entries for that
    archive offset (non-seekable, so sizes go in data descriptors after each entry)."""

    def __init__(self, base: int) -> None:
        super().__init__()
        self.base = base
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += data
        return len(data)

    def tell(self) -> int:
        return self.base + len(self.buffer)


# Characters an archive name never holds as such: "%" (the escape itself), and those that
# Windows refuses in a file name. Names never hold "/" or control characters.
_ESCAPED = frozenset('%\\:*?"<>|')


def archive_name(name: str) -> str:
    """The file's entry name in the archive: unique and reversible, since
    `urllib.parse.unquote(archive_name(name)) == name` for every name. Percent-encoded: "%",
    the characters of _ESCAPED, every dot of a name made only of dots ("." and ".." are not
    file names when unpacked) and a trailing dot or space (Windows drops them)."""
    if name.strip(".") == "":
        return "%2E" * len(name)
    encoded = "".join(f"%{ord(ch):02X}" if ch in _ESCAPED else ch for ch in name)
    if encoded[-1] in ". ":
        encoded = encoded[:-1] + f"%{ord(encoded[-1]):02X}"
    return encoded


def entries(base: int, members: list[tuple[str, int, bytes]]) -> tuple[bytes, list[list[Any]]]:
    """Local headers and data of `members` (name, modified µs, body) at archive offset `base`,
    and each entry's central-directory record for the finish step."""
    import zipfile

    sink = _Sink(base)
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, modified_us, body in members:
            when = datetime.fromtimestamp(modified_us / 1_000_000, tz=UTC)
            info = zipfile.ZipInfo(archive_name(name), when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, body)
        end = sink.tell()
        records = [_record(info) for info in archive.infolist()]
    # Closing wrote a central directory for this chunk alone: not part of the archive.
    return bytes(sink.buffer[: end - base]), records


def _record(info: zipfile.ZipInfo) -> list[Any]:
    return [
        info.filename,
        list(info.date_time),
        info.compress_type,
        info.CRC,
        info.compress_size,
        info.file_size,
        info.header_offset,
        info.flag_bits,
        info.external_attr,
        info.create_version,
        info.extract_version,
    ]


def central_directory(base: int, records: list[list[Any]]) -> bytes:
    """The central directory and end records (zip64 when needed) for an archive whose
    entries end at `base`."""
    import zipfile

    infos = []
    for name, date_time, method, crc, csize, size, offset, flags, attr, cver, ever in records:
        info = zipfile.ZipInfo(name, tuple(date_time))
        info.compress_type, info.CRC = method, crc
        info.compress_size, info.file_size, info.header_offset = csize, size, offset
        info.flag_bits, info.external_attr = flags, attr
        info.create_version, info.extract_version = cver, ever
        infos.append(info)
    sink = _Sink(base)
    archive = zipfile.ZipFile(sink, "w")
    archive.filelist = infos
    archive.close()
    return bytes(sink.buffer)
