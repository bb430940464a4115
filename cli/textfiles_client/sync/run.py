"""The command: passes of pull, scan, plan and apply until nothing is left to do (a conflict's
local copy is pushed by the pass after the one that made it); --watch then follows the feed
(long poll) and the folder (polled) until interrupted; --dry-run plans one pass and says it."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from textfiles_client import exits
from textfiles_client.client import ApiError, Client
from textfiles_client.sync import lock, remote, scan, state
from textfiles_client.sync.apply import Deferred
from textfiles_client.sync.plan import PULLS, Views, plan
from textfiles_client.sync.push import Pushes, Skipped, limits
from textfiles_client.sync.state import State
from textfiles_client.sync.watch import FeedWaiter, folder_signature

MAX_PASSES = 4
RETRY = 10.0  # seconds, --watch after a pass that could not reach the service
VERBS = {"keep": "kept", "same": "in step", "defer": "later"}


class Sync:
    def __init__(self, client: Client, args: argparse.Namespace) -> None:
        self.client, self.folder = client, Path(args.dir)
        self.dry, self.as_json = args.dry_run, args.json
        self.seen: set[tuple[str, str, str]] = set()  # skips already reported
        self.skipped = 0
        self.limits = limits(client)

    def report(self, kind: str, name: str, detail: str = "", **fields: Any) -> None:
        if kind == "skip":
            if (kind, name, detail) in self.seen:
                return
            self.seen.add((kind, name, detail))
            self.skipped += 1
        if self.as_json:
            line = {"action": kind, "name": name, "detail": detail, "dry_run": self.dry}
            print(json.dumps({**line, **fields}), flush=True)
            return
        verb = ("would " if self.dry else "") + VERBS.get(kind, kind)
        print(f"{verb:<14} {name}" + (f"  ({detail})" if detail else ""), flush=True)

    def passes(self) -> State:
        """Passes until one has nothing to do (or MAX_PASSES): the folder's state after."""
        for _ in range(MAX_PASSES):
            st, done = self.once()
            if done == 0 or self.dry:
                return st
        return st

    def once(self) -> tuple[State, int]:
        url = self.client.base_url
        st = state.load(self.folder, url) or State(url)
        pulled = remote.pull(self.client, st.cursor)
        known = {e.name: e for e in st.files.values()}
        local, others = scan.scan(self.folder, known) if self.folder.exists() else ({}, [])
        for name, why in others:
            self.report("skip", name, why)
        actions = plan(Views(dict(st.files), pulled.files, pulled.full, local))
        if self.dry:
            for act in actions:
                self.report(act.kind, act.name, act.reason)
            return st, 0
        worker = Pushes(self.client, self.folder, st, self.report, limits=self.limits)
        done, held = self._apply(worker, actions)
        if not held:  # every pulled change is in the folder: go on from the feed's position
            st.cursor = pulled.cursor
            state.save(self.folder, st)
        return st, done

    def _apply(self, worker: Pushes, actions: list[Any]) -> tuple[int, bool]:
        """How many actions were done, and whether a pulled change waits for the next pass."""
        done, held = 0, False
        for act in actions:
            if act.kind == "skip":
                self.report("skip", act.name, act.reason)
                continue
            try:
                getattr(worker, act.kind)(act)
                done += 1
            except Deferred as exc:
                self.report("defer", act.name, str(exc))
                held = held or act.kind in PULLS
                done += 1
            except Skipped as exc:
                self.report("skip", act.name, str(exc))
        return done, held

    def summary(self, st: State) -> None:
        count = len(st.files)
        if self.as_json:
            print(json.dumps({"action": "summary", "files": count, "skipped": self.skipped}))
        elif not self.dry:
            print(
                f"{self.folder}: {count} files in step"
                + (f", {self.skipped} skipped" if self.skipped else "")
            )

    def watch(self, st: State) -> None:
        """Passes whenever the feed or the folder moves; after a pass that could not reach
        the service, another in RETRY seconds whatever moves."""
        waiter = FeedWaiter(Client(self.client.base_url, self.client.key))
        failed = False
        while True:
            waiter.follow(st.cursor)
            mark = folder_signature(self.folder)
            waited = 0.0
            while not waiter.changed.wait(1.0):
                waited += 1.0
                if folder_signature(self.folder) != mark or (failed and waited >= RETRY):
                    break
            try:
                st, failed = self.passes(), False
            except ApiError as exc:
                if exits.for_api(exc) != exits.UNAVAILABLE:
                    raise
                failed = True
                print(f"textfiles: {exc.message} Trying again in {RETRY:.0f} s.", file=sys.stderr)


def cmd_sync(client: Client, args: argparse.Namespace) -> None:
    if args.watch and args.dry_run:
        raise exits.CliError("--dry-run plans one pass; it does not --watch.", exits.USAGE)
    folder = Path(args.dir)
    if folder.exists() and not folder.is_dir():
        raise exits.CliError(f"{args.dir!r} is not a folder.", exits.USAGE)
    if not args.dry_run:  # a dry run creates nothing, not even the folder
        folder.mkdir(parents=True, exist_ok=True)
    sync = Sync(client, args)
    with contextlib.nullcontext() if args.dry_run else lock.held(folder):
        st = sync.passes()
        sync.summary(st)
        if args.watch:
            sync.watch(st)
    if sync.skipped:
        files = "file" if sync.skipped == 1 else "files"
        raise exits.CliError(f"{sync.skipped} {files} skipped (see above).", exits.PARTIAL)
