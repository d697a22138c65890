"""How one runtime instance is started: as local processes, or as a container of its image.

Either way the instance is AWS's Runtime Interface Emulator serving
`POST /2015-03-31/functions/function/invocations` on the given port and
running `python -m awslambdaric <handler>`, the very entrypoint the images
run. A launcher only says which command starts it and what to clean up.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from queuefirst.local.runtimes.specs import FunctionSpec
from queuefirst.local.servers.ports import free_port


class LaunchError(RuntimeError):
    """Instances cannot be launched this way here; the message says what to do."""


class Launcher(Protocol):
    # The runtime is a child process of the launched one (the emulator) on this
    # machine, so its death shows in /proc; not so behind `docker run`.
    @property
    def runtime_is_child(self) -> bool: ...

    def command(self, spec: FunctionSpec, port: int) -> list[str]: ...

    def cleanup(self, spec: FunctionSpec, port: int) -> None: ...


@dataclass(frozen=True)
class ProcessLauncher:
    """RIE and the runtime client as processes of this machine."""

    rie: Path
    runtime_is_child: bool = True

    def command(self, spec: FunctionSpec, port: int) -> list[str]:
        # Every instance gets its own Runtime API port too: RIE's default (9001)
        # would let only one instance run per machine.
        return [
            str(self.rie),
            "--log-level",
            "error",
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{port}",
            "--runtime-api-address",
            f"127.0.0.1:{free_port()}",
            sys.executable,
            "-m",
            "awslambdaric",
            spec.handler,
        ]

    def cleanup(self, spec: FunctionSpec, port: int) -> None:
        return None


def image_for(function: str) -> str:
    registry = os.environ.get("QUEUEFIRST_IMAGE_REGISTRY", "")
    tag = os.environ.get("QUEUEFIRST_IMAGE_TAG", "dev")
    return f"{registry}{function}:{tag}"


def container_name(function: str, port: int) -> str:
    return f"queuefirst-{function.replace('_', '-')}-{port}"


@dataclass(frozen=True)
class ContainerLauncher:
    """`queuefirst dev --images`: each instance is a container of the function's built image.

    The containers share the host's network, so they reach the same PostgreSQL
    and SQS as processes would; each RIE gets its own two ports (see the base
    image's entrypoint), since one function is a pool of containers.
    """

    docker: str
    runtime_is_child: bool = False

    @classmethod
    def for_functions(cls, functions: list[str]) -> ContainerLauncher:
        docker = shutil.which("docker")
        if docker is None:
            raise LaunchError("--images needs Docker: run scripts/install-docker.sh, then make images")
        missing = [
            image_for(name)
            for name in functions
            if subprocess.run([docker, "image", "inspect", image_for(name)], capture_output=True).returncode
        ]
        if missing:
            raise LaunchError(f"images not built: {', '.join(missing)}; run make images")
        return cls(docker)

    def command(self, spec: FunctionSpec, port: int) -> list[str]:
        env = {
            **spec.environment,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_seconds),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "QUEUEFIRST_RIE_ADDRESS": f"127.0.0.1:{port}",
            "QUEUEFIRST_RIE_RUNTIME_ADDRESS": f"127.0.0.1:{free_port()}",
        }
        return [
            self.docker,
            "run",
            "--rm",
            "--network=host",
            f"--name={container_name(spec.name, port)}",
            f"--memory={spec.memory_mb}m",
            *(f"--env={k}={v}" for k, v in env.items()),
            image_for(spec.name),
            spec.handler,
        ]

    def cleanup(self, spec: FunctionSpec, port: int) -> None:
        # The docker client's exit may leave its container behind.
        subprocess.run([self.docker, "rm", "-f", container_name(spec.name, port)], capture_output=True)
