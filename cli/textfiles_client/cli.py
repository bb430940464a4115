"""The `textfiles` command: put, get, ls, mv, cp, rm, export, usage (docs/cli.md).

A failure is one line on stderr (`textfiles: ...`), and with --json also a JSON object on
stdout; the exit code says which kind of failure it was (exits.TABLE, shown in --help).
"""

from __future__ import annotations

import json
import os
import signal
import sys

from textfiles_client import exits, settings
from textfiles_client.args import parser
from textfiles_client.client import ApiError, Client
from textfiles_client.commands import COMMANDS
from textfiles_client.exits import CliError


def _fail(as_json: bool, code: int, message: str, error: str, status: int = 0) -> int:
    if as_json:
        print(json.dumps({"error": error, "status": status, "message": message, "exit": code}))
    print(f"textfiles: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(argv)
    except KeyboardInterrupt:  # before or after the command's own handling
        print("textfiles: interrupted", file=sys.stderr)
        code = exits.INTERRUPTED
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # done: a late Ctrl-C changes nothing
    return code


def _main(argv: list[str] | None) -> int:
    top = parser()
    args = top.parse_args(argv)
    if args.command is None:
        top.print_usage(sys.stderr)
        print("textfiles: give a command; textfiles --help lists them.", file=sys.stderr)
        return exits.USAGE
    try:
        url, key = settings.load(args.url, args.key)
        client = Client(url, key)
        if not args.quiet:
            client.on_wait = _say
        COMMANDS[args.command](client, args)
        sys.stdout.flush()  # a reader gone shows here, not as a traceback at exit
    except ApiError as exc:
        return _fail(args.json, exits.for_api(exc), exc.message, exc.code, exc.status)
    except CliError as exc:
        return _fail(args.json, exc.code, exc.message, "CommandError")
    except KeyboardInterrupt:
        print("textfiles: interrupted", file=sys.stderr)
        return exits.INTERRUPTED
    except BrokenPipeError:
        # The reader left (`textfiles get big | head`): nothing more to say, and nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return exits.FAILURE
    except OSError as exc:
        return _fail(args.json, exits.FAILURE, str(exc), "LocalError")
    return exits.OK


def _say(seconds: float, why: str) -> None:
    """A retry's wait, on stderr: a line, not a frame."""
    print(f"textfiles: {why} Retrying in {seconds:.0f} s.", file=sys.stderr)
