"""The admin function's settings, read from the environment in one place."""

from __future__ import annotations

from pydantic import Field

from queuefirst.runtime.settings import CommonSettings


class AdminSettings(CommonSettings):
    max_body_bytes: int = Field(default=64 * 1024, alias="QUEUEFIRST_MAX_BODY_BYTES")
    page_size: int = Field(default=25, ge=1, le=100, alias="QUEUEFIRST_ADMIN_PAGE_SIZE")
    # The operators' token issuer (a Cognito user pool's, or the local issuer's): a token
    # from any other is refused. Unset: whatever the authorizer in front admitted.
    operators_issuer: str | None = Field(default=None, alias="QUEUEFIRST_OPERATORS_ISSUER")
    # Locally: the dev stack's control endpoint (figures and scaling of the running
    # pollers and pools) and the secret it expects. Unset: AWS (Lambda, CloudWatch, SQS).
    control_url: str | None = Field(default=None, alias="QUEUEFIRST_LOCAL_CONTROL_URL")
    control_token: str | None = Field(default=None, alias="QUEUEFIRST_LOCAL_CONTROL_TOKEN")
