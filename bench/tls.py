"""moto over HTTPS for the bench and `make load`, as AWS's endpoints are in production.

The certificate is self-signed for 127.0.0.1 and handed to the measured processes as
``AWS_CA_BUNDLE`` (botocore and the signed client both honour it), so it is verified as
AWS's would be. PostgreSQL's TLS-only server is ``PostgresServer(tls_only=True)``
(tests/support/postgres.py).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from support.net import HOST, ServerUnavailable, free_port, self_signed_cert


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (subjectAltName IP), and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    self_signed_cert(key, cert)
    return cert, key


class HttpsMoto:
    """moto's server over HTTPS (its own process: the in-process server speaks HTTP only)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="textfiles-moto-tls-"))
        self.cert, self.key = make_certificate(self.folder)
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"https://{HOST}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        binary = str(Path(sys.executable).parent / "moto_server")
        self.port = free_port()
        log = open(self.folder / "moto.log", "wb")  # noqa: SIM115 - closed with the process
        self._proc = subprocess.Popen(
            [binary, "-H", HOST, "-p", str(self.port), "-c", str(self.cert), "-k", str(self.key)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ServerUnavailable(
                    f"moto_server exited: {(self.folder / 'moto.log').read_text()}"
                )
            try:
                socket.create_connection((HOST, self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise ServerUnavailable("moto_server (HTTPS) did not start")

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
            self._proc = None
        shutil.rmtree(self.folder, ignore_errors=True)
