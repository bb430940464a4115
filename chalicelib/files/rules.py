"""What a file is and what the API accepts: names, bodies, limits, prefixes, search words,
preconditions and the list cursor. Plain checks, no backend: a bad input is a 4xx before any
query."""

from __future__ import annotations

import binascii
import json
import re
import unicodedata
from typing import Any, NamedTuple, Protocol

from chalicelib import clock, ids
from chalicelib.errors import BadRequest, NotPlaintext, PreconditionFailed, TooLarge

MAX_NAME = 255
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_QUERY = 1000  # characters of q
MAX_TERMS = 32  # words of q
MAX_CURSOR = 100  # characters of a cursor (ours are about 65)
_LIMIT = re.compile(r"[0-9]{1,9}")
_WORD = re.compile(r"\w+")


class FileMeta(NamedTuple):
    id: str
    tenant_id: str
    name: str
    size: int
    sha256: str
    version: int
    blob_key: str
    created_us: int
    updated_us: int
    expires_us: int

    @property
    def etag(self) -> str:
        """The body's validator: its content hash (guards the body)."""
        return f'"{self.sha256}"'

    @property
    def record_etag(self) -> str:
        """The record's validator: this file at this version (guards everything, name included)."""
        return f'"v{self.version}.{self.id}"'

    def public(self) -> dict[str, Any]:
        """The metadata a client sees."""
        return {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "etag": self.etag,
            "record_etag": self.record_etag,
            "version": self.version,
            "created_at": clock.iso(self.created_us),
            "updated_at": clock.iso(self.updated_us),
            "expires_at": clock.iso(self.expires_us),
        }

    def fields(self) -> dict[str, Any]:
        """Every field, as stored (a database row, a cache entry)."""
        return dict(self._asdict())

    @classmethod
    def of(cls, fields: dict[str, Any]) -> FileMeta:
        """From a row or a cache entry (extra keys are ignored)."""
        return cls(**{k: fields[k] for k in cls._fields})


def _has_control(text: str) -> bool:
    """Control characters (NUL among them) or lone surrogates: no name holds one."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


def validate_name(name: str | None) -> str:
    if name is None or name == "":
        raise BadRequest("A file name is required: ?name=<1-255 characters>.")
    if len(name) > MAX_NAME:
        raise BadRequest(f"A file name is at most {MAX_NAME} characters.")
    if "/" in name:
        raise BadRequest("A file name may not contain '/'.")
    if _has_control(name):
        raise BadRequest("A file name may not contain control characters.")
    return name


def validate_body(body: bytes, limit: int, replacing: str | None = None) -> None:
    """`replacing`: the id of the file whose body this replaces (a 413 names the route that
    replaces a larger body, in its message and its `upload_url`)."""
    if len(body) > limit:
        message = f"The body is {len(body)} bytes; inline bodies are at most {limit} bytes."
        if replacing is None:
            raise TooLarge(f"{message} Use POST /files/uploads for larger ones.", limit=limit)
        link = f"/files/{replacing}/uploads?size={len(body)}"
        raise TooLarge(f"{message} Replace it through POST {link}.", limit=limit, upload_url=link)
    if b"\x00" in body:
        raise NotPlaintext("The body is not plaintext: it contains a NUL byte.")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotPlaintext(f"The body is not valid UTF-8 (byte {exc.start}).") from exc


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    # ASCII digits only: str.isdigit() accepts "²" or "①", which int() refuses.
    if _LIMIT.fullmatch(raw) is None or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)


def check_prefix(prefix: str) -> str:
    if len(prefix) > MAX_NAME:
        raise BadRequest(f"prefix is at most {MAX_NAME} characters.")
    if _has_control(prefix):
        raise BadRequest("prefix may not contain control characters (no name does).")
    return prefix


def search_terms(q: str) -> list[str]:
    if len(q) > MAX_QUERY:
        raise BadRequest(f"q is at most {MAX_QUERY} characters.")
    terms = _WORD.findall(q.lower())
    if not terms:
        raise BadRequest("q must contain at least one word.")
    if len(terms) > MAX_TERMS:
        raise BadRequest(f"q has at most {MAX_TERMS} words.")
    return terms


def encode_cursor(meta: FileMeta) -> str:
    raw = json.dumps([meta.created_us, meta.id], separators=(",", ":")).encode()
    return ids.b64url(raw)


def decode_cursor(cursor: str) -> tuple[int, str]:
    """What encode_cursor wrote, checked exactly: a short string of a time (a 64-bit
    integer, not a boolean) and a file id; anything else is a 400 before any query."""
    try:
        if len(cursor) <= MAX_CURSOR:
            raw = ids.unb64url(cursor)
            created, file_id = json.loads(raw)
            if type(created) is int and 0 <= created < 2**63 and ids.is_id(file_id):
                return created, file_id
    except (ValueError, TypeError, binascii.Error, RecursionError):
        pass
    raise BadRequest("The cursor is not valid; use next_cursor from a previous page.")


class Tagged(Protocol):
    @property
    def etag(self) -> str: ...


def etag_matches(meta: Tagged, header: str | None, weak: bool = True) -> bool:
    """Whether an If-None-Match (weak comparison) or, with `weak=False`, an If-Match list
    (strong comparison: a `W/` tag never matches, RFC 9110 13.1.1) names the current body."""
    if header is None:
        return False
    tags = [t.strip() for t in header.split(",")]
    if weak:
        tags = [t.removeprefix("W/") for t in tags]
    return "*" in tags or meta.etag in tags


# --- preconditions: the one rule every route applies (docs/writes.md) ---------------------

# The precondition headers a request may carry (lowercase); a write route honours those it is
# marked with (chalicelib/edge/http.py, `honours`) and refuses the others.
PRECONDITIONS = ("if-match", "if-none-match", "if-unmodified-since", "if-modified-since")
_TAG = re.compile(r'(W/)?"[\x21\x23-\x7e\x80-\U0010ffff]*"')


def _tags(header: str, field: str) -> list[str]:
    """The entity tags of an If-Match or If-None-Match list (`*` alone), or a 400 saying why."""
    tags = [t.strip() for t in header.split(",") if t.strip()]
    if tags == ["*"]:
        return tags
    if not tags or any(_TAG.fullmatch(t) is None for t in tags):
        raise BadRequest(f'{field} must be * or a list of quoted ETags, such as "abc", "def".')
    return tags


def if_match_holds(meta: FileMeta, header: str | None) -> bool:
    """Whether an If-Match holds for the file as it is now (strong comparison: a `W/` tag never
    matches, RFC 9110 13.1.1): `*`, its body's ETag (the body is unchanged: a rename still
    passes) or its record's ETag (nothing changed at all). No header: it holds."""
    if header is None:
        return True
    tags = _tags(header, "If-Match")
    return "*" in tags or meta.etag in tags or meta.record_etag in tags


def require_if_match(meta: FileMeta, header: str | None) -> None:
    """A 412 unless the If-Match holds for the file as it is now (`if_match_holds`)."""
    if not if_match_holds(meta, header):
        raise PreconditionFailed("The file changed since you read it (If-Match does not match).")


def create_only(header: str | None) -> bool:
    """If-None-Match on a write: `*` (only where no file is) or nothing; anything else is a 400
    (an ETag there would ask to overwrite any version but that one, which nobody means)."""
    if header is None:
        return False
    if _tags(header, "If-None-Match") == ["*"]:
        return True
    raise BadRequest(
        "If-None-Match on a write takes only * (create only); to write only over the version"
        " you read, send If-Match with its ETag."
    )


_WHY = {
    "if-unmodified-since": "a date cannot tell two writes in one second apart; send If-Match"
    " with the record_etag from the metadata instead",
    "if-modified-since": "it is a condition for reads (GET) only",
}


def refuse_unhonoured(request: Any, honoured: frozenset[str]) -> None:
    """A precondition a write route cannot honour is a 400 that says why, never ignored."""
    for field in PRECONDITIONS:
        if field in request.headers and field not in honoured:
            route = f"{request.method} {(request.context or {}).get('resourcePath', '')}"
            takes = ", ".join(h.title() for h in sorted(honoured)) or "no precondition"
            why = _WHY.get(field, f"this route takes {takes}")
            raise BadRequest(f"{field.title()} cannot be honoured by {route}: {why}.")
