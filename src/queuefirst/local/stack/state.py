"""`dev.json`: what a running `queuefirst dev` tells the other commands.

Written by the stack when it is up and removed when it stops; `dlq`,
`invoke` and the rest read it to find the endpoints and the local
credentials, so nothing needs exporting. One typed model reads and writes it.

The stack rewrites it while it runs (a pool grows), so it is written whole
or not at all: to a temporary file beside it, flushed to disk, then renamed
over it, which a reader sees as one step (the old file or the new one,
never half of either).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict

FILE_NAME = "dev.json"
# Local endpoints accept any credentials; boto3 refuses to sign without some.
LOCAL_ACCESS_KEY = "local"
LOCAL_SECRET_KEY = "local"  # noqa: S105 - a placeholder the local servers ignore


class FunctionState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pids: list[int]
    concurrency: int


class DevState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pid: int
    gateway_url: str
    database_url: str
    sqs_endpoint_url: str
    region: str
    aws_access_key_id: str = LOCAL_ACCESS_KEY
    aws_secret_access_key: str = LOCAL_SECRET_KEY
    functions: dict[str, FunctionState] = {}

    def write(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        # mkstemp makes it 0600: it may hold a DATABASE_URL with a password.
        descriptor, temporary = tempfile.mkstemp(dir=home, prefix=f".{FILE_NAME}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w") as out:
                out.write(self.model_dump_json(indent=2))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, home / FILE_NAME)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    @classmethod
    def read(cls, home: Path) -> DevState | None:
        try:
            text = (home / FILE_NAME).read_text()
        except (FileNotFoundError, IsADirectoryError):
            return None  # no stack running (or it stopped as we looked)
        return cls.model_validate_json(text)

    @staticmethod
    def remove(home: Path) -> None:
        (home / FILE_NAME).unlink(missing_ok=True)
