"""What each subcommand does, given a Client and its parsed arguments."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from textfiles_client import history_cli, local, names, terminal
from textfiles_client.client import ApiError, Client
from textfiles_client.exits import USAGE, CliError
from textfiles_client.sync.run import cmd_sync
from textfiles_client.terminal import Bar, size
from textfiles_client.types import File, Task


def line(meta: File) -> str:
    return f"{meta['id']}  {size(meta['size']):>10}  {meta['updated_at']}  {meta['name']}"


def out(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text)


def _bar(args: argparse.Namespace, label: str, amount: int | None = None) -> Bar:
    return Bar(label, terminal.wanted(args.quiet, args.json, amount))


def _shown(target: str, amount: int) -> int:
    """A body written to the terminal gets no bar beside it (0: below any threshold)."""
    return 0 if target == local.STDIO and terminal.interactive(sys.stdout) else amount


def cmd_put(client: Client, args: argparse.Namespace) -> None:
    name, source = args.name, args.file
    if args.as_name is not None:  # the older form: put FILE --name NAME
        if source is not None:
            raise CliError("Give the name once: put NAME FILE (or put FILE --name NAME).", USAGE)
        name, source = args.as_name, args.name
    elif source is None:  # put FILE: the local file, under its own name
        if name == local.STDIO:
            raise CliError("Standard input needs a name: put NAME -", USAGE)
        source, name = name, Path(name).name
    body = local.read_input(source)
    limit = client.get_usage()["max_inline_bytes"]
    # An upload link always shows its bar; an inline body, once it is big enough.
    bar = _bar(args, f"put {name}", None if len(body) > limit else len(body))
    try:
        written = names.write(client, name, body, limit, args.new, args.if_match, bar)
    finally:
        bar.end()
    verb = "created" if written.created else "replaced"
    out(args, written.meta, f"{verb} {line(written.meta)}")


def cmd_get(client: Client, args: argparse.Namespace) -> None:
    if args.file is not None and args.output is not None:
        raise CliError("Give the output once: get REF FILE, or get REF -o FILE.", USAGE)
    target = args.output or args.file or local.STDIO
    local.refuse_existing(target, args.force)
    meta = names.find(client, args.ref)
    bar = _bar(args, f"get {meta['name']}", _shown(target, meta["size"]))
    try:
        with local.output(target, args.force) as sink:
            client.read_file(meta["id"], sink=sink, progress=bar)
    finally:
        bar.end()
    if target != local.STDIO:
        out(args, meta, f"saved {meta['name']} to {target} ({size(meta['size'])})")


def cmd_ls(client: Client, args: argparse.Namespace) -> None:
    items: list[File] = []
    cursor = None
    while True:
        page = client.list_files(limit=1000, cursor=cursor, prefix=args.prefix, q=args.q)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    out(args, items, "\n".join(line(meta) for meta in items) or "(no files)")


def cmd_mv(client: Client, args: argparse.Namespace) -> None:
    meta = client.rename_file(names.find(client, args.ref)["id"], args.new_name)
    out(args, meta, f"renamed {args.ref} to {meta['name']}")


def cmd_cp(client: Client, args: argparse.Namespace) -> None:
    source = names.find(client, args.ref)
    guard = names.quoted(args.if_match) if args.if_match else None
    meta = client.copy_file(source["id"], args.new_name, guard)
    out(args, meta, f"copied {source['name']} to {line(meta)}")


def cmd_rm(client: Client, args: argparse.Namespace) -> None:
    removed = []
    for ref in args.refs:
        meta = names.find(client, ref)
        client.delete_file(meta["id"])
        removed.append(meta["id"])
        if not args.json:
            print(f"deleted {meta['name']}")
    if args.json:
        print(json.dumps({"deleted": removed}))


def wait_for(client: Client, task: Task, bar: Bar) -> Task:
    while task["state"] in ("queued", "running"):
        progress = task["progress"]
        bar(progress["done"], progress["total"] or 0, unit="files")
        time.sleep(0.5)
        task = client.get_task(task["id"])
    progress = task["progress"]
    bar(progress["done"], progress["total"] or 0, unit="files")
    bar.end()
    return task


def cmd_export(client: Client, args: argparse.Namespace) -> None:
    target = args.output or "export.zip"
    if not (args.wait or args.output):
        task = client.start_export()
        out(args, task, f"export started: task {task['id']} ({task['state']})")
        return
    local.refuse_existing(target, args.force)
    task = wait_for(client, client.start_export(), _bar(args, "export"))
    result = task["result"] or {}
    if task["state"] != "succeeded" or not result.get("download_url"):
        raise ApiError(0, "ExportFailed", f"The export {task['state']}: {task['error'] or ''}")
    bar = _bar(args, "download", _shown(target, int(result.get("size") or 0)))
    try:
        with local.output(target, args.force) as sink:
            client.download(result["download_url"], sink, bar)
    finally:
        bar.end()
    if target != local.STDIO:
        done = f"exported {result['files']} files ({size(result['size'])}) to {target}"
        out(args, task, done)


def cmd_usage(client: Client, args: argparse.Namespace) -> None:
    usage = client.get_usage()
    rate = usage["rate"]
    rows = [
        f"files          {usage['files']['used']} of {usage['files']['limit']}",
        f"bytes          {size(usage['bytes']['used'])} of {size(usage['bytes']['limit'])}",
        f"running tasks  {usage['running_tasks']['used']} of {usage['running_tasks']['limit']}",
        f"requests       {rate['used']} of {rate['limit']} in this {rate['window_seconds']} s"
        f" window (resets in {rate['reset_seconds']} s)",
    ]
    out(args, usage, "\n".join(rows))


COMMANDS = {
    "put": cmd_put,
    "get": cmd_get,
    "ls": cmd_ls,
    "mv": cmd_mv,
    "cp": cmd_cp,
    "rm": cmd_rm,
    "export": cmd_export,
    "usage": cmd_usage,
    "sync": cmd_sync,
    **history_cli.COMMANDS,  # log, diff, restore, trash, undelete
}
