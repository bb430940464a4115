"""The command's exit codes: one table, shown in `--help` and docs/cli.md (a test keeps the
two equal), and the one place that maps a failure to its code."""

from __future__ import annotations

import textwrap

from textfiles_client.transport import ApiError

OK = 0
FAILURE = 1
USAGE = 2
SETTINGS = 3
NOT_FOUND = 4
CONFLICT = 5
AUTH = 6
UNAVAILABLE = 7
LIMIT = 8
PARTIAL = 9
INTERRUPTED = 130

TABLE: tuple[tuple[int, str], ...] = (
    (OK, "success"),
    (
        FAILURE,
        "any other failure: bad input (400, 415), a server error (500), a failed export,"
        " a local file that cannot be read or written",
    ),
    (USAGE, "usage: an unknown command or option, a missing or invalid argument"),
    (SETTINGS, "settings: no URL, no key, or a config file that cannot be read"),
    (NOT_FOUND, "not found: no file with that id or name (404)"),
    (
        CONFLICT,
        "conflict: the name exists (409, or 412 under put --new), the file changed (412),"
        " or a local file exists (no --force)",
    ),
    (AUTH, "authentication: the key is wrong or revoked (401), a link forbidden (403)"),
    (
        UNAVAILABLE,
        "try later: rate limited (429), unavailable (503) or unreachable,"
        " after the command's own retries",
    ),
    (LIMIT, "a limit: a quota is full (403 QuotaExceeded) or a body too large (413)"),
    (
        PARTIAL,
        "sync: done, but some files were skipped (each reported: a name this system cannot"
        " hold, not UTF-8 text, above a limit)",
    ),
    (INTERRUPTED, "interrupted (Ctrl-C); sync --watch ends this way, its folder in step"),
)


class CliError(Exception):
    """A failure of the command itself (settings, local files), with its exit code."""

    def __init__(self, message: str, code: int = FAILURE) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def for_api(exc: ApiError) -> int:
    """The exit code of an answer that is not a success (status 0: no answer at all)."""
    if exc.status == 0:
        return UNAVAILABLE if exc.code == "ConnectionError" else FAILURE
    if exc.status == 404:
        return NOT_FOUND
    if exc.status in (409, 412):
        return CONFLICT
    if exc.status == 413 or exc.code == "QuotaExceeded":
        return LIMIT
    if exc.status in (401, 403):
        return AUTH
    if exc.status in (429, 502, 503, 504):
        return UNAVAILABLE
    return FAILURE


def table() -> str:
    """The table as the help's epilog shows it."""
    rows = (
        textwrap.fill(meaning, 86, initial_indent=f"  {code:>3}  ", subsequent_indent=" " * 7)
        for code, meaning in TABLE
    )
    return "\n".join(rows)
