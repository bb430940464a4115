"""moto's server in a process of its own, patched, for a whole Terraform apply and destroy.

A process of its own because moto's state is global to a process: the in-process servers
of the other tests would see (and share) this stage's VPC, queues and secrets, and a
"nothing left after destroy" check could not tell ours from theirs. It also gets moto
settings of its own (environment variables read at import) without touching the tests'.

    python -m support.moto_process     (cwd-independent with PYTHONPATH=tests)

prints ``PORT <n>`` once it serves, and stops when its standard input closes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.net import HOST, Server, ServerUnavailable, end_process

__all__ = ["MOTO_SETTINGS", "MotoProcess"]

TESTS = Path(__file__).resolve().parents[1]
# Read by moto at import, in the server's process:
# (No MOTO_IAM_LOAD_MANAGED_POLICIES: no role here attaches an AWS managed policy.)
MOTO_SETTINGS = {
    # A DNS-validated certificate is ISSUED at once (aws_acm_certificate_validation waits).
    "MOTO_ACM_VALIDATION_WAIT": "0",
}


class MotoProcess(Server):
    """``python -m support.moto_process`` on a free 127.0.0.1 port."""

    def __init__(self, start_timeout: float = 60.0) -> None:
        self.start_timeout = start_timeout
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise RuntimeError("MotoProcess is not started")
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        env = {**os.environ, **MOTO_SETTINGS, "PYTHONPATH": str(TESTS)}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "support.moto_process"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=TESTS,
        )  # fmt: skip
        self._register()
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().decode().strip()  # blocks until it serves
        if not line.startswith("PORT "):
            self.stop()
            raise ServerUnavailable(f"moto server did not start: {line or '(no output)'}")
        self.port = int(line.split()[1])

    def stop(self) -> None:
        self._unregister()
        proc, self._proc = self._proc, None
        self.port = None
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()
        end_process(proc, grace=10)


def serve() -> None:
    """In the server's process: patch moto, serve, print the port, wait for stdin's end."""
    import logging

    from moto.core.config import default_user_config
    from moto.server import ThreadedMotoServer

    from support import moto_patches, moto_tf_patches

    # Lambda code cannot run here (no Docker): invocations (the secret rotation's test
    # step) answer as moto's simple Lambda backend does, without running anything.
    default_user_config["lambda"] = {"use_docker": False}
    moto_patches.apply()
    moto_tf_patches.apply()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    print(f"PORT {server.get_host_and_port()[1]}", flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    serve()
