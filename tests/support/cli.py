"""`textfiles` as a person runs it (a subprocess in a folder, settings from the environment,
stderr on a pipe or on a real pseudo-terminal), and a scripted HTTP server standing in for
the API where the real one cannot be made to answer as a test needs (429, 503, lost answers,
a route it does not have yet)."""

from __future__ import annotations

import http.server
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from support.local_site import ROOT, running

DROP = "drop"  # a reply that closes the connection without answering
Reply = tuple[int, dict[str, str], dict[str, Any] | bytes]  # status, headers, JSON or raw body


class Cli:
    """`textfiles` run in `folder` against `base` with `key` (TEXTFILES_URL/TEXTFILES_KEY)."""

    def __init__(self, base: str, key: str, folder: Path) -> None:
        self.folder = folder
        self.env = {**os.environ, "TEXTFILES_URL": base, "TEXTFILES_KEY": key}
        self.env["PYTHONPATH"] = str(ROOT / "cli")
        self.env["XDG_CONFIG_HOME"] = str(folder / "no-config")
        for name in ("TEXTFILES_CONFIG", "TERM"):
            self.env.pop(name, None)

    def command(self) -> list[str]:
        installed = shutil.which("textfiles", path=str(Path(sys.executable).parent))
        return [installed] if installed else [sys.executable, "-m", "textfiles_client"]

    def run(
        self,
        *args: str,
        code: int = 0,
        env: dict[str, str] | None = None,
        stdin: bytes | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run; the exit code must be `code`. stdout and stderr are pipes."""
        done = subprocess.run(
            [*self.command(), *args],
            cwd=self.folder,
            env={**self.env, **(env or {})},
            input=stdin.decode() if stdin is not None else None,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == code, (args, done.returncode, done.stdout, done.stderr)
        return done

    def run_on_terminal(
        self,
        *args: str,
        code: int = 0,
        stdout_tty: bool = False,
        env: dict[str, str] | None = None,
    ) -> Terminal:
        """Run with stdin and stderr (and, with `stdout_tty`, stdout) on a pseudo-terminal."""
        with self.on_terminal(*args, stdout_tty=stdout_tty, env=env) as term:
            term.wait()
        assert term.code == code, (args, term.code, term.stdout, term.screen)
        return term

    @contextmanager
    def on_terminal(
        self, *args: str, stdout_tty: bool = False, env: dict[str, str] | None = None
    ) -> Iterator[Terminal]:
        master, slave = pty.openpty()
        env = {**self.env, "TERM": "xterm", **(env or {})}
        proc = subprocess.Popen(
            [*self.command(), *args],
            cwd=self.folder,
            env=env,
            stdin=slave,
            stdout=slave if stdout_tty else subprocess.PIPE,
            stderr=slave,
        )
        os.close(slave)
        term = Terminal(proc, master)
        try:
            yield term
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            os.close(master)
            if proc.stdout:
                proc.stdout.close()


@dataclass
class Terminal:
    """A process whose terminal is ours: `screen` is everything it wrote to it, raw."""

    proc: subprocess.Popen[bytes]
    master: int
    screen: str = ""
    stdout: bytes = b""
    code: int | None = None
    _raw: bytearray = field(default_factory=bytearray)

    def read_until(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            assert time.monotonic() < deadline, (text, self.screen)
            if not self._pump(0.1) and self.proc.poll() is not None:
                raise AssertionError(("exited", self.proc.returncode, text, self.screen))

    def _pump(self, wait: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the other side is closed
            return False
        self._raw += chunk
        self.screen = self._raw.decode(errors="replace")
        return bool(chunk)

    def interrupt(self) -> None:
        self.proc.send_signal(signal.SIGINT)

    def wait(self, timeout: float = 60) -> None:
        out: list[bytes] = []
        pipe = self.proc.stdout
        reader = threading.Thread(target=lambda: out.append(pipe.read() if pipe else b""))
        reader.start()
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._pump(0.05)
        self.code = self.proc.wait(timeout=1)
        while self._pump(0):
            pass
        reader.join(5)
        self.stdout = b"".join(out)


@contextmanager
def started_cli(data_dir: Path, settings: dict[str, str] | None, folder: Path) -> Iterator[Cli]:
    """A `chalice local` of the app (embedded drivers, or `settings`'s backends) and `textfiles`
    pointed at it with a fresh key of a tenant of its own (the real backends are shared)."""
    with running(data_dir, settings, f"cli-{uuid.uuid4().hex[:12]}") as (base, key):
        yield Cli(base, key, folder)


# ---- a scripted stand-in for the API ----------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Handler(http.server.BaseHTTPRequestHandler):
    script: ClassVar[dict[tuple[str, str], list[Any]]]
    seen: ClassVar[list[Seen]]

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.seen.append(Seen(self.command, self.path, dict(self.headers), body))
        replies = self.script.get((self.command, self.path.split("?")[0]), [])
        reply = replies.pop(0) if len(replies) > 1 else (replies[0] if replies else None)
        if reply == DROP:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        status, headers, payload = reply or (404, {}, {"Code": "NotFound", "Message": "no"})
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(raw))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, *args: Any) -> None:
        pass


class Stub:
    """Answers each (method, path) with its replies in turn (the last one repeats)."""

    def __init__(self) -> None:
        self.script: dict[tuple[str, str], list[Any]] = {}
        self.seen: list[Seen] = []
        handler = type("Handler", (_Handler,), {"script": self.script, "seen": self.seen})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def on(self, method: str, path: str, *replies: Any) -> None:
        self.script[(method, path)] = list(replies)

    def requests(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path.split("?")[0] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def stub() -> Iterator[Stub]:
    server = Stub()
    try:
        yield server
    finally:
        server.close()
