"""The S3 client: :class:`hub.aws.AwsClient` opened with S3's addressing style.

``AwsClient`` builds its ``AioConfig`` itself and has no way to add service options, so this
subclass opens the client the same way plus ``s3={"addressing_style": ...}``. Once the core's
``AwsClient`` accepts extra config (``AwsClient(..., config={"s3": {...}})``) this module
shrinks to that one argument.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from hub.aws import AwsClient, aws_errors

if TYPE_CHECKING:
    from hub._runtime import ProviderContext
    from hub_s3.settings import S3Settings

__all__ = ["S3Client"]


class S3Client(AwsClient):
    def __init__(self, settings: S3Settings, context: ProviderContext) -> None:
        super().__init__("s3", settings, context)
        self._s3_settings = settings

    async def _open(self) -> Any:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        settings = self._s3_settings
        session: Any = get_session()
        config = AioConfig(
            connect_timeout=self._http.timeout,
            read_timeout=self._http.timeout,
            max_pool_connections=self._http.max_connections,
            retries={"total_max_attempts": 1, "mode": "standard"},
            user_agent_extra="integration-hub",
            s3={"addressing_style": settings.addressing_style},
            signature_version="s3v4",
        )
        stack = AsyncExitStack()
        with aws_errors(self.provider, "connect", secrets=self._secrets):
            client = await stack.enter_async_context(
                session.create_client(
                    "s3",
                    region_name=settings.region,
                    endpoint_url=settings.endpoint_url,
                    aws_access_key_id=settings.access_key_id,
                    aws_secret_access_key=_plain(settings, "secret_access_key"),
                    aws_session_token=_plain(settings, "session_token"),
                    config=config,
                )
            )
        self._stack = stack
        return client


def _plain(settings: S3Settings, name: str) -> str | None:
    secret = getattr(settings, name)
    return None if secret is None else str(secret.get_secret_value())
