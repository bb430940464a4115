"""moto's server in this process, and the dummy AWS settings every client of it uses."""

from __future__ import annotations

import threading
import urllib.request
from typing import TYPE_CHECKING

from support.net import HOST, Server, ServerUnavailable

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

__all__ = ["AWS_ENV", "MotoServer"]

# Dummy credentials and a region for boto3/botocore against moto: never a real account,
# and no probe of an instance-metadata endpoint.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


class MotoServer(Server):
    """moto's threaded server, in this process, on a free 127.0.0.1 port.

    It shares moto's global backends with ``moto.mock_aws`` in the same process.
    """

    def __init__(self, start_timeout: float = 30.0) -> None:
        self.start_timeout = start_timeout
        self.port: int | None = None
        self._server: ThreadedMotoServer | None = None

    @property
    def endpoint(self) -> str:
        """Endpoint URL for boto3's ``endpoint_url``."""
        if self.port is None:
            raise RuntimeError("MotoServer is not started")
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        """Start the server thread and wait until it is bound."""
        if self._server is not None:
            raise RuntimeError("MotoServer already started")
        try:
            from moto.server import ThreadedMotoServer
        except ImportError as exc:
            raise ServerUnavailable(f"moto[server] is not installed: {exc}") from exc
        server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
        # ThreadedMotoServer.start() waits forever if binding fails (the error is
        # raised in its own thread), so wait for it from a helper thread.
        starter = threading.Thread(target=server.start, daemon=True, name="moto-start")
        starter.start()
        starter.join(self.start_timeout)
        if starter.is_alive():
            raise ServerUnavailable(
                f"moto server not ready within {self.start_timeout:.0f} s"
                " (see the thread exception reported above)"
            )
        self._server = server
        self.port = server.get_host_and_port()[1]
        self._register()

    def stop(self) -> None:
        """Stop the server thread and close its socket."""
        self._unregister()
        server, self._server = self._server, None
        self.port = None
        if server is None:
            return
        server.stop()
        wsgi = getattr(server, "_server", None)
        if wsgi is not None:  # shutdown() leaves the listening socket open
            wsgi.server_close()

    def reset(self) -> None:
        """Clear all moto state (``POST /moto-api/reset``)."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
