"""`dev.json`: what a running `queuefirst dev` tells the other commands.

Written by the stack when it is up and removed when it stops; `dlq`,
`invoke` and the rest read it to find the endpoints and the local
credentials, so nothing needs exporting. One typed model reads and writes it.
"""

from __future__ import annotations

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
        path = home / FILE_NAME
        path.touch(mode=0o600)  # it may hold a DATABASE_URL with a password
        path.chmod(0o600)
        path.write_text(self.model_dump_json(indent=2))

    @classmethod
    def read(cls, home: Path) -> DevState | None:
        path = home / FILE_NAME
        if not path.is_file():
            return None
        return cls.model_validate_json(path.read_text())

    @staticmethod
    def remove(home: Path) -> None:
        (home / FILE_NAME).unlink(missing_ok=True)
