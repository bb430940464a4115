"""The `textfiles` command: put, get, ls, mv, rm, export, usage; log, diff, restore, trash,
undelete (history_cli.py).

Settings: --url/--key, else TEXTFILES_URL/TEXTFILES_KEY, else the config file
(TEXTFILES_CONFIG, default ~/.config/textfiles/config.json: {"url": ..., "key": ...}).
An error prints the API's message and exits with status 1; --json prints JSON for scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import IO, Any

from textfiles_client import history_cli
from textfiles_client.client import ApiError, Client
from textfiles_client.types import File, Task

_ID = re.compile(r"[0-9a-f]{32}")


class Bar:
    """A progress bar on stderr: `label [#####.....]  45%  1.2 MiB / 2.6 MiB`."""

    def __init__(self, label: str, enabled: bool, stream: IO[str] | None = None) -> None:
        self.label, self.enabled, self.stream = label, enabled, stream or sys.stderr
        self.shown = -1

    def __call__(self, done: int, total: int, unit: str = "bytes") -> None:
        if not self.enabled or total <= 0:
            return
        percent = min(100, done * 100 // total)
        if percent == self.shown:
            return
        self.shown = percent
        filled = percent * 30 // 100
        amounts = f"{size(done)} / {size(total)}" if unit == "bytes" else f"{done} / {total}"
        line = f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {percent:3d}%  {amounts}"
        self.stream.write(line)
        self.stream.flush()

    def end(self) -> None:
        if self.enabled and self.shown >= 0:
            self.stream.write("\n")
            self.stream.flush()


def size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def settings(args: argparse.Namespace) -> tuple[str, str | None]:
    path = Path(os.environ.get("TEXTFILES_CONFIG") or Path.home() / ".config/textfiles/config.json")
    stored: dict[str, Any] = {}
    if path.is_file():
        stored = json.loads(path.read_text(encoding="utf-8"))
    url = args.url or os.environ.get("TEXTFILES_URL") or stored.get("url")
    key = args.key or os.environ.get("TEXTFILES_KEY") or stored.get("key")
    if not url:
        raise ApiError(0, "NoSettings", "No API URL: set TEXTFILES_URL, --url or the config file.")
    return str(url), (str(key) if key else None)


def find(client: Client, ref: str) -> File:
    """A file by id, or else by its exact name."""
    if _ID.fullmatch(ref):
        try:
            return client.read_metadata(ref)
        except ApiError as exc:
            if exc.status != 404:
                raise
    cursor = None
    while True:
        page = client.list_files(limit=1000, prefix=ref, cursor=cursor)
        for item in page["items"]:
            if item["name"] == ref:
                return item
        cursor = page["next_cursor"]
        if not cursor:
            raise ApiError(404, "NotFound", f"No file with the id or name {ref!r}.")


def line(meta: File) -> str:
    return f"{meta['id']}  {size(meta['size']):>10}  {meta['updated_at']}  {meta['name']}"


def out(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text)


# ---- commands --------------------------------------------------------------------------


def cmd_put(client: Client, args: argparse.Namespace) -> None:
    path = Path(args.file)
    body = path.read_bytes()
    name = args.name or path.name
    inline = len(body) <= client.get_usage()["max_inline_bytes"]
    large = not inline or len(body) > 1024 * 1024
    bar = Bar(f"put {name}", large and not args.json and not args.quiet)
    try:
        meta = client.create_file(name, body, bar) if inline else client.upload(name, body, bar)
    finally:
        bar.end()
    out(args, meta, f"created {line(meta)}")


def cmd_get(client: Client, args: argparse.Namespace) -> None:
    meta = find(client, args.ref)
    if not args.output or args.output == "-":
        sys.stdout.buffer.write(client.read_file(meta["id"]))
        sys.stdout.flush()
        return
    bar = Bar(f"get {meta['name']}", not args.json and not args.quiet)
    try:
        with open(args.output, "wb") as sink:
            client.read_file(meta["id"], sink=sink, progress=bar)
    finally:
        bar.end()
    out(args, meta, f"saved {meta['name']} to {args.output} ({size(meta['size'])})")


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
    meta = client.rename_file(find(client, args.ref)["id"], args.new_name)
    out(args, meta, f"renamed {args.ref} to {meta['name']}")


def cmd_rm(client: Client, args: argparse.Namespace) -> None:
    removed = []
    for ref in args.refs:
        meta = find(client, ref)
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
    task = client.start_export()
    if not args.wait:
        out(args, task, f"export started: task {task['id']} ({task['state']})")
        return
    task = wait_for(client, task, Bar("export", not args.json and not args.quiet))
    result = task["result"] or {}
    if task["state"] != "succeeded" or not result.get("download_url"):
        raise ApiError(0, "ExportFailed", f"The export {task['state']}: {task['error'] or ''}")
    bar = Bar("download", not args.json and not args.quiet)
    try:
        with open(args.output, "wb") as sink:
            client.download(result["download_url"], sink, bar)
    finally:
        bar.end()
    out(args, task, f"exported {result['files']} files ({size(result['size'])}) to {args.output}")


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


# ---- arguments -------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="textfiles", description=__doc__.splitlines()[0])
    top.add_argument("--url", help="the API's base URL (TEXTFILES_URL)")
    top.add_argument("--key", help="an API key (TEXTFILES_KEY); prefer the variable")
    top.add_argument("--json", action="store_true", help="print JSON, for scripts")
    top.add_argument("--quiet", action="store_true", help="no progress bars")
    sub = top.add_subparsers(dest="command", required=True)
    put = sub.add_parser("put", help="create a file from FILE (large ones via an upload link)")
    put.add_argument("file")
    put.add_argument("--name", help="the file's name (default: FILE's name)")
    get = sub.add_parser("get", help="print a file, or save it with -o")
    get.add_argument("ref", metavar="ID|NAME")
    get.add_argument("-o", "--output", help="save to this path")
    ls = sub.add_parser("ls", help="list files, newest first")
    ls.add_argument("--prefix", help="names starting with this")
    ls.add_argument("-q", dest="q", metavar="WORDS", help="files containing every word")
    mv = sub.add_parser("mv", help="rename a file")
    mv.add_argument("ref", metavar="ID|NAME")
    mv.add_argument("new_name", metavar="NEW_NAME")
    rm = sub.add_parser("rm", help="delete files")
    rm.add_argument("refs", nargs="+", metavar="ID|NAME")
    export = sub.add_parser("export", help="export every file into one zip archive")
    export.add_argument("--wait", action="store_true", help="wait, then download the archive")
    export.add_argument("-o", "--output", default="export.zip", help="default: export.zip")
    sub.add_parser("usage", help="files, bytes, running tasks and requests against limits")
    history_cli.add_parsers(sub)
    return top


COMMANDS = {
    "put": cmd_put,
    "get": cmd_get,
    "ls": cmd_ls,
    "mv": cmd_mv,
    "rm": cmd_rm,
    "export": cmd_export,
    "usage": cmd_usage,
    **history_cli.COMMANDS,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        url, key = settings(args)
        COMMANDS[args.command](Client(url, key), args)
    except ApiError as exc:
        if args.json:
            print(json.dumps({"error": exc.code, "status": exc.status, "message": exc.message}))
        print(f"textfiles: {exc.message}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"textfiles: {exc}", file=sys.stderr)
        return 1
    return 0
