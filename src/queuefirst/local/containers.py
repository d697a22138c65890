"""`queuefirst dev --images`: each runtime instance is a container of the built image.

The containers share the host's network, so they reach the same PostgreSQL
and SQS as the processes would; each RIE gets its own two ports (see the
base image's entrypoint), since one function is a pool of containers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

from queuefirst.local.ports import free_port
from queuefirst.local.runtime import FunctionSpec
from queuefirst.names import api_function_name, worker_function_name
from queuefirst.registry import Registry


class ImagesError(RuntimeError):
    pass


def image_for(function: str) -> str:
    registry = os.environ.get("QUEUEFIRST_IMAGE_REGISTRY", "")
    tag = os.environ.get("QUEUEFIRST_IMAGE_TAG", "dev")
    return f"{registry}{function}:{tag}"


def container_name(function: str, port: int) -> str:
    return f"queuefirst-{function.replace('_', '-')}-{port}"


def container_command_for(registry: Registry) -> Callable[[FunctionSpec, int], list[str]]:
    docker = shutil.which("docker")
    if docker is None:
        raise ImagesError("--images needs Docker: run scripts/install-docker.sh, then make images")
    names = [api_function_name(registry.app), *(worker_function_name(registry.app, e) for e in registry)]
    missing = [
        n
        for n in names
        if subprocess.run([docker, "image", "inspect", image_for(n)], capture_output=True).returncode
    ]
    if missing:
        raise ImagesError(f"images not built: {', '.join(image_for(n) for n in missing)}; run make images")

    def command(spec: FunctionSpec, port: int) -> list[str]:
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
        flags = [f"--env={k}={v}" for k, v in env.items()]
        return [
            docker,
            "run",
            "--rm",
            "--network=host",
            f"--name={container_name(spec.name, port)}",
            f"--memory={spec.memory_mb}m",
            *flags,
            image_for(spec.name),
            spec.handler,
        ]

    return command


def remove_container(function: str, port: int) -> None:
    docker = shutil.which("docker")
    if docker:
        subprocess.run([docker, "rm", "-f", container_name(function, port)], capture_output=True)
