"""moto's server mode as the local SQS endpoint, in its own process."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass, field

from queuefirst.local.servers.ports import free_port, port_in_use, start_server, stop_process


class SqsServerError(RuntimeError):
    pass


@dataclass
class LocalSqs:
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> LocalSqs:
        try:
            import moto.server  # noqa: F401
        except ImportError as error:
            raise SqsServerError(
                "moto is not installed: install the 'local' extra or set SQS_ENDPOINT_URL"
            ) from error
        self.port = self.port or free_port()
        if port_in_use(self.port):
            raise SqsServerError(f"port {self.port} is in use: choose another with QUEUEFIRST_SQS_PORT")
        self.process = start_server(
            [
                sys.executable,
                "-m",
                "queuefirst.local.servers.sqs_server",
                "-H",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
            port=self.port,
            what="moto server",
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM, timeout=10)
