"""Reading image labels and manifest digests from a container registry over its HTTP API (v2).

Anonymous access only, so a local registry or a public one; ECR needs a
login this client does not perform.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)
INDEX_TYPES = (
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
)


class ImageRegistryError(RuntimeError):
    """The container registry could not be read."""


@dataclass(frozen=True)
class RegistryClient:
    """Reads image labels over the registry HTTP API v2 (anonymous access)."""

    registry: str
    """`host[:port][/prefix]`; plain HTTP for localhost, HTTPS otherwise."""
    platform: str = "linux/amd64"
    timeout: float = 10

    @property
    def base_url(self) -> str:
        host = self.registry.strip("/").split("/", 1)[0]
        local = host.split(":")[0] in ("localhost", "127.0.0.1", "::1")
        return f"{'http' if local else 'https'}://{host}/v2/"

    def repository(self, image: str) -> str:
        parts = self.registry.strip("/").split("/", 1)
        return f"{parts[1]}/{image}" if len(parts) == 2 else image

    def _get(self, path: str, accept: Iterable[str] = ()) -> tuple[str, bytes] | None:
        request = urllib.request.Request(self.base_url + path)  # noqa: S310  (http(s) only)
        if accept:
            request.add_header("Accept", ", ".join(accept))
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return str(response.headers.get("Content-Type", "")), bytes(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise ImageRegistryError(f"{request.full_url}: HTTP {error.code}") from error
        except urllib.error.URLError as error:
            raise ImageRegistryError(f"{request.full_url}: {error.reason}") from error

    def labels(self, image: str, tag: str) -> dict[str, str] | None:
        repo = self.repository(image)
        got = self._get(f"{repo}/manifests/{tag}", (*MANIFEST_TYPES, *INDEX_TYPES))
        if got is None:
            return None
        content_type, body = got
        manifest = json.loads(body)
        if content_type in INDEX_TYPES or "manifests" in manifest:
            os_name, _, arch = self.platform.partition("/")
            entries = manifest.get("manifests", [])
            chosen = next(
                (
                    m
                    for m in entries
                    if m.get("platform", {}).get("os") == os_name
                    and m.get("platform", {}).get("architecture") == arch
                ),
                entries[0] if entries else None,
            )
            if chosen is None:
                return None
            got = self._get(f"{repo}/manifests/{chosen['digest']}", MANIFEST_TYPES)
            if got is None:
                return None
            manifest = json.loads(got[1])
        blob = self._get(f"{repo}/blobs/{manifest['config']['digest']}")
        if blob is None:
            return None
        config = json.loads(blob[1])
        labels = (config.get("config") or {}).get("Labels") or {}
        return {str(k): str(v) for k, v in labels.items()}

    def manifest_digest(self, image: str, tag: str) -> str | None:
        """The digest the registry serves the tag's manifest under (`Docker-Content-Digest`)."""
        request = urllib.request.Request(  # noqa: S310  (http(s) only)
            f"{self.base_url}{self.repository(image)}/manifests/{tag}", method="HEAD"
        )
        request.add_header("Accept", ", ".join((*MANIFEST_TYPES, *INDEX_TYPES)))
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                digest = response.headers.get("Docker-Content-Digest")
                return str(digest) if digest else None
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise ImageRegistryError(f"{request.full_url}: HTTP {error.code}") from error
        except urllib.error.URLError as error:
            raise ImageRegistryError(f"{request.full_url}: {error.reason}") from error
