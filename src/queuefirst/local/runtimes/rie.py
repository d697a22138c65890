"""AWS's Runtime Interface Emulator, fetched once from the aws-sam-cli wheel.

`aws-lambda-rie` is not published on its own; AWS ships it inside the
aws-sam-cli wheel on PyPI. We download that one wheel (no dependencies),
check its hash, extract the binary for this machine and cache it.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# Keep in step with requirements/rie.txt (the image build reads that file).
SAM_CLI_VERSION = "1.170.0"
SAM_CLI_SHA256 = "24ebaf5ecba38dc1758089968cb89ab61e124b84e92a344fc7a2771a47f4d0bf"
_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


class RieError(RuntimeError):
    pass


def rie_binary(cache_dir: Path) -> Path:
    """The cached binary, fetching it on first use; `QUEUEFIRST_RIE` overrides."""
    override = os.environ.get("QUEUEFIRST_RIE")
    if override:
        if not os.access(override, os.X_OK):
            raise RieError(f"QUEUEFIRST_RIE={override} is not an executable file")
        return Path(override)
    on_path = shutil.which("aws-lambda-rie")
    if on_path:
        return Path(on_path)
    arch = _ARCH.get(platform.machine().lower())
    if arch is None:
        raise RieError(f"no aws-lambda-rie build for {platform.machine()}")
    target = cache_dir / f"aws-lambda-rie-{SAM_CLI_VERSION}-{arch}"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fetched = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                tmp,
                f"aws-sam-cli=={SAM_CLI_VERSION}",
            ],
            capture_output=True,
            text=True,
        )
        wheels = list(Path(tmp).glob("aws_sam_cli-*.whl"))
        if fetched.returncode != 0 or not wheels:
            raise RieError(
                f"could not download aws-sam-cli=={SAM_CLI_VERSION} to get aws-lambda-rie "
                f"({fetched.stderr.strip().splitlines()[-1:] or 'no wheel'}); "
                "set QUEUEFIRST_RIE to a local aws-lambda-rie binary"
            )
        digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
        if digest != SAM_CLI_SHA256:
            raise RieError(f"aws-sam-cli wheel hash {digest} is not the pinned {SAM_CLI_SHA256}")
        member = f"samcli/local/rapid/aws-lambda-rie-{arch}"
        partial = target.with_suffix(".part")
        with zipfile.ZipFile(wheels[0]) as archive, archive.open(member) as src, open(partial, "wb") as out:
            shutil.copyfileobj(src, out)
        partial.chmod(0o755)
        partial.replace(target)
    return target
