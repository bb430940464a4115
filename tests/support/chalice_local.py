"""`chalice local` of this project in a subprocess, for tests that need a real HTTP server."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from support.net import HOST, Running, ServerUnavailable, end_process, free_port

__all__ = ["ChaliceLocal"]


class ChaliceLocal(Running):
    """`chalice local` of this project in a subprocess, on a free port, on the `local` stage."""

    def __init__(self, env: dict[str, str], start_timeout: float = 30.0) -> None:
        self.env = env
        self.port = free_port()
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        # A file, not a pipe: a busy server's log lines never fill a buffer nobody reads.
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as the server

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, size: int = 4000) -> str:
        """The end of what the server wrote to stderr."""
        self._log.seek(0)
        return self._log.read()[-size:].decode(errors="replace")

    def start(self) -> None:
        root = Path(__file__).resolve().parents[2]
        # What `make run` serves: Chalice's local server as tools/local_server.py sets it up.
        command = [sys.executable, "-m", "tools.local_server", "--host", HOST]
        command += ["--port", str(self.port)]
        self._proc = subprocess.Popen(
            command, cwd=root, env=self.env, stdout=self._log, stderr=self._log
        )
        deadline = time.monotonic() + self.start_timeout
        while True:
            try:
                urllib.request.urlopen(f"{self.base}/health", timeout=1).close()
                return
            except urllib.error.HTTPError:
                return  # it answers: a backend may be down, which is the test's business
            except OSError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    tail = self.log_tail(800)
                    raise ServerUnavailable(f"chalice local did not start: {tail}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        end_process(proc, 10)
