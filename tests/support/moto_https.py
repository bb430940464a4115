"""moto's server over HTTPS in its own process, as AWS's endpoints are in production.

The in-process server speaks HTTP only; the S3 client then sends bodies whole, where over
HTTPS it streams them aws-chunked with a checksum trailer. The certificate is self-signed for
127.0.0.1; clients verify it through ``AWS_CA_BUNDLE`` (botocore and our signed client both
honour it). Used by tests and by the bench and `make load`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO

from support.net import (
    HOST,
    AliveCheck,
    Server,
    end_process,
    free_port,
    self_signed_cert,
    wait_for_port,
)


class HttpsMoto(Server):
    def __init__(self, start_timeout: float = 30.0) -> None:
        self.start_timeout = start_timeout
        self.folder = Path(tempfile.mkdtemp(prefix="textfiles-moto-tls-"))
        self.cert, self.key = self.folder / "cert.pem", self.folder / "key.pem"
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"https://{HOST}:{self.port}"

    def start(self) -> None:
        self_signed_cert(self.key, self.cert)
        binary = str(Path(sys.executable).parent / "moto_server")
        self.port = free_port()
        self._log = open(self.folder / "moto.log", "w+b")  # noqa: SIM115 - closed in stop()
        self._proc = subprocess.Popen(
            [binary, "-H", HOST, "-p", str(self.port), "-c", str(self.cert), "-k", str(self.key)],
            stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._register()
        alive = AliveCheck("moto_server", self._proc, self._log)
        wait_for_port(self.port, self.start_timeout, alive)

    def stop(self) -> None:
        self._unregister()
        end_process(self._proc, grace=10)
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self.folder, ignore_errors=True)
