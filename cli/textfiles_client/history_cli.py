"""The history commands of `textfiles`: log, diff, restore, trash, undelete (docs/history.md).

Kept apart from cli.py, which only registers them (`add_parsers`, `COMMANDS`).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from textfiles_client import names
from textfiles_client.client import ApiError, Client
from textfiles_client.terminal import size
from textfiles_client.types import Trashed, Version


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    from textfiles_client import commands  # commands.py registers this module's commands

    commands.out(args, data, text)


def _all(fetch: Any) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        page = fetch(cursor)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return items


def _version_line(v: Version) -> str:
    amount = size(v["size"])
    current = "  (current)" if v["superseded_at"] is None else ""
    return f"v{v['version']:<5} {v['created_at']}  {amount:>10}  {v['name']}{current}"


def cmd_log(client: Client, args: argparse.Namespace) -> None:
    meta = names.find(client, args.ref)
    versions = _all(lambda c: client.list_versions(meta["id"], limit=1000, cursor=c))
    _out(args, versions, "\n".join(_version_line(v) for v in versions))


def cmd_diff(client: Client, args: argparse.Namespace) -> None:
    meta = names.find(client, args.ref)
    old = args.v1 if args.v1 is not None else meta["version"] - 1
    if old < 1:
        raise ApiError(0, "NoHistory", f"{meta['name']} has only one version.")
    text = client.diff_versions(meta["id"], old, args.v2)
    if args.json:
        print(json.dumps({"from": old, "to": args.v2 or meta["version"], "diff": text}))
    else:
        sys.stdout.write(text)


def cmd_restore(client: Client, args: argparse.Namespace) -> None:
    meta = names.find(client, args.ref)
    new = client.restore_version(meta["id"], args.version, if_match=meta["etag"])
    _out(args, new, f"restored {meta['name']} to version {args.version} as v{new['version']}")


def _trash_line(t: Trashed) -> str:
    amount = size(t["size"])
    return f"{t['id']}  {amount:>10}  deleted {t['deleted_at']}  {t['name']}"


def cmd_trash(client: Client, args: argparse.Namespace) -> None:
    items = _all(lambda c: client.list_trash(limit=1000, cursor=c))
    _out(args, items, "\n".join(_trash_line(t) for t in items) or "(the trash is empty)")


def cmd_undelete(client: Client, args: argparse.Namespace) -> None:
    """The most recently deleted file of that name (the trash is newest first), or --id."""
    if not args.id and not args.name:
        raise ApiError(0, "BadUsage", "undelete needs a NAME or --id ID.")
    items: list[Trashed] = _all(lambda c: client.list_trash(limit=1000, cursor=c))
    wanted = [t for t in items if (t["id"] == args.id if args.id else t["name"] == args.name)]
    if not wanted:
        which = f"with the id {args.id}" if args.id else f"named {args.name!r}"
        raise ApiError(404, "NotFound", f"No file {which} in the trash.")
    meta = client.restore_trashed(wanted[0]["id"], args.as_name)
    _out(args, meta, f"restored {meta['name']} ({meta['id']}) as v{meta['version']}")


def add_parsers(sub: Any, common: Any) -> None:
    """The history commands' parsers; `common()`: what every subcommand's parser takes (made
    afresh for each: `restore --version` replaces the program's --version in its own copy)."""
    log = sub.add_parser("log", **common(), help="a file's kept versions, newest first")
    log.add_argument("ref", metavar="ID|NAME", help="the file: its id, or its exact name")
    diff = sub.add_parser(
        "diff", **common(), help="what changed: V1 (default: the previous) to V2 (current)"
    )
    diff.add_argument("ref", metavar="ID|NAME", help="the file: its id, or its exact name")
    diff.add_argument("v1", nargs="?", type=int, metavar="V1", help="from (default: previous)")
    diff.add_argument("v2", nargs="?", type=int, metavar="V2", help="to (default: current)")
    # `restore --version N` names a version: here it is not the program's --version.
    again = "make an old version current again (a new one)"
    restore = sub.add_parser("restore", **common(), help=again, conflict_handler="resolve")
    restore.add_argument("ref", metavar="ID|NAME", help="the file: its id, or its exact name")
    restore.add_argument(
        "--version", type=int, required=True, metavar="N", help="the version to make current"
    )
    sub.add_parser("trash", **common(), help="deleted files, kept 30 days")
    undelete = sub.add_parser(
        "undelete", **common(), help="bring the last deleted file of NAME back"
    )
    undelete.add_argument("name", metavar="NAME", nargs="?", help="the deleted file's name")
    undelete.add_argument("--id", help="this trashed file instead (see `textfiles trash`)")
    undelete.add_argument("--as", dest="as_name", metavar="NEW_NAME", help="under another name")


COMMANDS = {
    "log": cmd_log,
    "diff": cmd_diff,
    "restore": cmd_restore,
    "trash": cmd_trash,
    "undelete": cmd_undelete,
}
