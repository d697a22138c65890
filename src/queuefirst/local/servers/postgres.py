"""An embedded PostgreSQL server for the local stack and the tests.

Uses the system's PostgreSQL binaries when present, else the ones the
`pgserver` wheel carries. PostgreSQL refuses to run as root, so as root the
server runs as an unprivileged system user made for it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from queuefirst.local.servers.ports import free_port, port_in_use, start_server, stop_process, wait_until

SERVICE_USER = "queuefirst-pg"


class PostgresError(RuntimeError):
    """The embedded server cannot be started; the message says how to fix it."""


def _is_binaries(candidate: str | Path) -> bool:
    return (Path(candidate) / "postgres").exists() and (Path(candidate) / "initdb").exists()


def find_binaries() -> Path:
    candidates = [os.environ.get("QUEUEFIRST_PG_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and _is_binaries(candidate):
            return Path(candidate)
    try:  # imported only when needed: the wheel's import is slow and chatty
        import pgserver._commands

        wheel = Path(pgserver._commands.POSTGRES_BIN_PATH)
        if _is_binaries(wheel):
            return wheel
    except ImportError:
        pass
    raise PostgresError(
        "no PostgreSQL binaries found: install the 'local' extra (pip install 'queuefirst[local]'), "
        "install PostgreSQL, or set DATABASE_URL to a running server"
    )


def _service_account() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(SERVICE_USER)


def _check_traversable(path: Path, account: pwd.struct_passwd) -> None:
    for parent in [*reversed(path.parents)]:
        mode = parent.stat().st_mode
        if parent.stat().st_uid != account.pw_uid and not mode & 0o001:
            raise PostgresError(
                f"PostgreSQL runs as user {SERVICE_USER} (it refuses root), which cannot enter "
                f"{parent}: put the project elsewhere, set QUEUEFIRST_HOME, or set DATABASE_URL"
            )


def _stop_leftover_server(pgdata: Path) -> None:
    """A server an earlier run left behind (its parent was killed) holds the data
    directory; it is ours, so stop it rather than fail on its lock file."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError, IndexError):
        return
    if "postgres" not in cmdline or str(pgdata) not in cmdline:
        return
    os.kill(pid, signal.SIGINT)
    wait_until(lambda: not Path(f"/proc/{pid}").exists(), timeout=30, what="the leftover PostgreSQL")


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout: float = 60) -> EmbeddedPostgres:
        binaries = find_binaries()
        account = _service_account()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if account is not None:
            _check_traversable(self.data_dir, account)
            for path in [self.data_dir, *self.data_dir.rglob("*")]:
                os.chown(path, account.pw_uid, account.pw_gid)
        user, group = (account.pw_uid, account.pw_gid) if account else (None, None)
        pgdata = self.data_dir / "pgdata"
        _stop_leftover_server(pgdata)
        if not (pgdata / "PG_VERSION").exists():
            shutil.rmtree(pgdata, ignore_errors=True)
            subprocess.run(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
                user=user,
                group=group,
            )
        self.port = self.port or free_port()
        if port_in_use(self.port):
            raise PostgresError(f"port {self.port} is in use: choose another with QUEUEFIRST_PG_PORT")
        log = open(self.data_dir / "postgres.log", "ab")  # noqa: SIM115 - owned by the server's lifetime
        self.process = start_server(
            [
                str(binaries / "postgres"),
                "-D",
                str(pgdata),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.data_dir}",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ],
            port=self.port,
            what="PostgreSQL",
            timeout=timeout,
            stdout=log,
            stderr=log,
            user=user,
            group=group,
        )
        # The port opens before the server takes connections ("the database system
        # is starting up"): wait for a real login too.
        wait_until(
            self._accepts_logins,
            timeout=timeout,
            what="PostgreSQL",
            alive=lambda: self.process is not None and self.process.poll() is None,
        )
        return self

    def _accepts_logins(self) -> bool:
        import psycopg

        try:
            psycopg.connect(
                host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", connect_timeout=2
            ).close()
        except psycopg.OperationalError:
            return False
        return True

    def stop(self) -> None:
        stop_process(self.process, signal.SIGINT, timeout=20)  # SIGINT: PostgreSQL's "fast" shutdown


@contextlib.contextmanager
def scratch_postgres(prefix: str) -> Iterator[EmbeddedPostgres]:
    """A throwaway server in a fresh directory, removed afterwards.

    The directory goes straight under the system's temporary folder, readable
    by all: as root the server runs as an unprivileged user, who must be able
    to enter it (pytest's private temporary folders are closed to it).
    """
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    data_dir.chmod(0o755)
    server = EmbeddedPostgres(data_dir)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
