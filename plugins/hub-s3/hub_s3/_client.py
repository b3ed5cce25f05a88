"""The S3 client: :class:`hub.aws.AwsClient` opened with S3's addressing style and SigV4."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.aws import AwsClient

if TYPE_CHECKING:
    from hub._runtime import ProviderContext
    from hub_s3.settings import S3Settings

__all__ = ["S3Client"]


class S3Client(AwsClient):
    def __init__(self, settings: S3Settings, context: ProviderContext) -> None:
        super().__init__(
            "s3",
            settings,
            context,
            config={
                "s3": {"addressing_style": settings.addressing_style},
                "signature_version": "s3v4",
            },
        )
