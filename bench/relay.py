"""A TCP relay in front of memcached that counts round trips (the client's request writes).

It runs in a process of its own, so the load's clients never hold it up, and keeps its count
in a file (`make load`, bench/load.py).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HOST = "127.0.0.1"


class CountingRelay:
    """A TCP relay in front of memcached that counts the client's request writes (round trips)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.trips = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server((HOST, 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            for args in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=args, daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, count: bool) -> None:
        try:
            while data := source.recv(65536):
                if count:
                    with self._lock:
                        self.trips += 1
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                sock.close()

    def close(self) -> None:
        self._listener.close()


def relay_process(upstream_port: int, count_file: Path) -> None:
    """The relay in a process of its own (no GIL shared with the clients), its count in a file."""
    relay = CountingRelay((HOST, upstream_port))
    print(relay.port, flush=True)
    partial = count_file.with_suffix(".partial")
    while True:
        partial.write_text(str(relay.trips))
        partial.replace(count_file)  # atomic: a reader never sees a half-written count
        time.sleep(0.05)


class Relay:
    """The counting relay's process: its port, and the round trips it has seen."""

    def __init__(self, upstream_port: int, folder: Path) -> None:
        self.count_file = folder / "cache-trips"
        self._proc = subprocess.Popen(
            [sys.executable, __file__, str(upstream_port), str(self.count_file)],
            stdout=subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        self.port = int(self._proc.stdout.readline())

    @property
    def trips(self) -> int:
        time.sleep(0.2)  # the file is rewritten every 50 ms
        return int(self.count_file.read_text())

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)


if __name__ == "__main__":
    relay_process(int(sys.argv[1]), Path(sys.argv[2]))
