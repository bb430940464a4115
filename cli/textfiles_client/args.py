"""The command line: global options accepted before or after the subcommand, every argument
described, examples in every subcommand's help, the exit codes in the main help."""

from __future__ import annotations

import argparse

from textfiles_client import __version__, exits, history_cli

SUMMARY = "textfiles: keep plaintext files in the textfiles service, from the shell."
SETTINGS = """\
settings:
  --url/--key, else TEXTFILES_URL/TEXTFILES_KEY, else the config file: TEXTFILES_CONFIG,
  else $XDG_CONFIG_HOME/textfiles/config.json or ~/.config/textfiles/config.json,
  holding {"url": "https://...", "key": "tf_..."}. Prefer the variable to --key: a flag
  shows in the process list and the shell's history."""
EXAMPLES = """\
examples:
  export TEXTFILES_URL=http://127.0.0.1:8000 TEXTFILES_KEY=tf_...
  textfiles put notes.txt                 # create or replace notes.txt from ./notes.txt
  date | textfiles put today.txt -        # from standard input
  textfiles get notes.txt                 # to standard output
  textfiles ls --json | jq -r '.[].name'"""
MORE = "The full reference: docs/cli.md in the textfiles repository."
DETAILS = {
    "put": """
A NAME that exists is replaced, but only if nobody changed it since this command read it
(If-Match its ETag): a change made meanwhile is exit 5, never overwritten. A body above the
server's inline limit goes through an upload link.""",
    "get": """
A local FILE that exists is replaced only with --force; the body lands under FILE's name
only once complete.""",
    "sync": """
The first run downloads every file into DIR (created if missing) and records what it saw in
DIR/.textfiles-sync.json; each later run pulls the service's changes since then (its change
feed) and pushes the folder's: edits, new files, renames (a file gone and one with its exact
body new) and deletions. Every write carries If-Match, so nothing changed elsewhere meanwhile
is overwritten. Changed on both sides: the service's version takes the name and yours is kept
beside it as "NAME (conflict DATE from HOST).EXT" (and pushed). The folder is flat (a name
holds no /): subfolders are not synced. Files that cannot be synced (a name this system
refuses, not UTF-8 text, above a limit) are reported and skipped: exit 9.""",
    "export": """
Without --wait or -o, the command starts the export and prints its task; with them it follows
the task, then downloads the archive (an existing FILE is replaced only with --force).""",
}

COMMANDS: dict[str, tuple[str, str]] = {
    "put": (
        "create or replace a file by name (large ones through an upload link)",
        """\
  textfiles put notes.txt                     # ./notes.txt, under its own name
  textfiles put todo.txt ~/lists/todo.md      # NAME, then the local FILE
  make report | textfiles put report.txt -    # standard input
  textfiles put --new draft.txt               # create only: exit 5 if the name exists
  textfiles put --if-match '"9f86d0..."' notes.txt   # only over that version""",
    ),
    "get": (
        "write a file's body to standard output, or save it",
        """\
  textfiles get notes.txt                     # to standard output
  textfiles get notes.txt | grep milk
  textfiles get notes.txt copy.txt            # save (exit 5 if copy.txt exists)
  textfiles get 4709898785e5c5251d3275aac2241480 -o copy.txt --force""",
    ),
    "ls": (
        "list files, newest first",
        """\
  textfiles ls
  textfiles ls --prefix 2024-
  textfiles ls -q "milk eggs"                 # files containing every word
  textfiles ls --json | jq -r '.[].name'""",
    ),
    "mv": ("rename a file", "  textfiles mv todo.txt shopping.txt"),
    "cp": (
        "copy a file to a new name (the service copies the body: nothing is downloaded)",
        """\
  textfiles cp todo.txt todo-2024.txt
  textfiles cp --if-match '"9f86d0..."' a.txt b.txt   # only that version of a.txt""",
    ),
    "rm": (
        "delete files",
        "  textfiles rm old.txt\n  textfiles rm a.txt b.txt 4709898785e5c5251d3275aac2241480",
    ),
    "export": (
        "export every file into one zip archive",
        """\
  textfiles export                            # start it; print the task
  textfiles export --wait                     # wait, then save export.zip
  textfiles export -o all.zip --force         # wait, save all.zip, replacing it
  textfiles export -o - > all.zip             # the archive to standard output""",
    ),
    "sync": (
        "keep a folder and the service in step, both ways",
        """\
  textfiles sync ~/notes                      # once: pull, then push, then exit
  textfiles sync ~/notes --dry-run            # say what it would do; change nothing
  textfiles sync ~/notes --watch              # keep following both sides (Ctrl-C ends)
  textfiles sync ~/notes --json | jq -c 'select(.action == "conflict")'""",
    ),
    "usage": (
        "files, bytes, running tasks and requests against your limits",
        "  textfiles usage\n  textfiles usage --json",
    ),
}


def _global_options(defaults: bool) -> argparse.ArgumentParser:
    """The options every subcommand takes too. A subcommand's copies default to SUPPRESS, so
    an option given before the subcommand is not reset by the subcommand's parser."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("global options (before or after the subcommand)")

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    group.add_argument("--url", default=default(None), help="the API's base URL (TEXTFILES_URL)")
    group.add_argument(
        "--key", default=default(None), help="an API key (TEXTFILES_KEY; prefer the variable)"
    )
    group.add_argument(
        "--json", action="store_true", default=default(False), help="print JSON, for scripts"
    )
    group.add_argument(
        "--quiet", action="store_true", default=default(False), help="no progress bars"
    )
    group.add_argument("--version", action="version", version=f"textfiles {__version__}")
    return parser


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def parser() -> argparse.ArgumentParser:
    epilog = f"{EXAMPLES}\n\n{SETTINGS}\n\nexit codes:\n{exits.table()}\n\n{MORE}"
    top = argparse.ArgumentParser(
        prog="textfiles",
        description=SUMMARY,
        epilog=epilog,
        formatter_class=_formatter,
        parents=[_global_options(True)],
    )
    sub = top.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    shared = _global_options(False)
    made = {}
    for name, (summary, examples) in COMMANDS.items():
        made[name] = sub.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".\n" + DETAILS.get(name, ""),
            epilog=f"examples:\n{examples}\n\n{MORE}",
            formatter_class=_formatter,
            parents=[shared],
        )
    _arguments(made)
    history_cli.add_parsers(
        sub, lambda: {"parents": [_global_options(False)], "formatter_class": _formatter}
    )
    return top


def _arguments(made: dict[str, argparse.ArgumentParser]) -> None:
    put = made["put"]
    put.add_argument("name", metavar="NAME", help="the file's name in the service")
    put.add_argument(
        "file",
        nargs="?",
        metavar="FILE",
        help="the local file to send, - for standard input (default: the file NAME, sent"
        " under its base name)",
    )
    guard = put.add_mutually_exclusive_group()
    guard.add_argument("--new", action="store_true", help="create only; fail if NAME exists")
    guard.add_argument(
        "--if-match",
        metavar="ETAG",
        help="replace only if the file still has this ETag (from ls --json; quotes optional)",
    )
    put.add_argument("--name", dest="as_name", metavar="NAME", help=argparse.SUPPRESS)
    get = made["get"]
    get.add_argument("ref", metavar="ID|NAME", help="the file's id, or its exact name")
    get.add_argument(
        "file", nargs="?", metavar="FILE", help="save to FILE; - or nothing: standard output"
    )
    get.add_argument("-o", "--output", metavar="FILE", help="the same as FILE")
    get.add_argument("--force", action="store_true", help="replace FILE if it exists")
    ls = made["ls"]
    ls.add_argument("--prefix", metavar="TEXT", help="only names starting with TEXT")
    ls.add_argument("-q", dest="q", metavar="WORDS", help="only files containing every word")
    mv = made["mv"]
    mv.add_argument("ref", metavar="ID|NAME", help="the file's id, or its exact name")
    mv.add_argument("new_name", metavar="NEW_NAME", help="its new name (not taken)")
    cp = made["cp"]
    cp.add_argument("ref", metavar="SRC", help="the file's id, or its exact name")
    cp.add_argument("new_name", metavar="DEST", help="the copy's name (not taken)")
    cp.add_argument("--if-match", metavar="ETAG", help="only if SRC still has this ETag")
    rm = made["rm"]
    rm.add_argument("refs", nargs="+", metavar="ID|NAME", help="the files' ids or exact names")
    sync = made["sync"]
    sync.add_argument("dir", metavar="DIR", help="the folder to keep in step (created if missing)")
    sync.add_argument(
        "--watch", action="store_true", help="keep following the service and the folder"
    )
    sync.add_argument(
        "--dry-run", action="store_true", help="print what it would do; change nothing"
    )
    export = made["export"]
    export.add_argument("--wait", action="store_true", help="wait, then save the archive")
    export.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to save it, - for standard output (implies --wait; default: export.zip)",
    )
    export.add_argument("--force", action="store_true", help="replace FILE if it exists")
