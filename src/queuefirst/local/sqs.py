"""moto's server mode as the local SQS endpoint, in its own process."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass, field

from queuefirst.local.ports import free_port, port_in_use, stop_process, wait_until


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
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        process = self.process
        wait_until(
            lambda: port_in_use(self.port),
            timeout=timeout,
            what="moto server",
            alive=lambda: process.poll() is None,
        )
        return self

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM, timeout=10)
