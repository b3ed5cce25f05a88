"""Settings of the ``s3`` storage provider: ``[storage.s3]`` / ``HUB_STORAGE__S3__*`` and ``AWS_*``.

The same settings reach any S3-compatible store: point ``endpoint_url`` at it (MinIO, Cloudflare
R2, Backblaze B2) and choose ``addressing_style = "path"`` where it has no virtual-host buckets.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from hub.aws import AwsSettings

__all__ = ["MIB", "MIN_PART_SIZE", "S3Settings"]

MIB = 1024 * 1024
#: S3 refuses parts below 5 MiB (except the last one) and above 5 GiB.
MIN_PART_SIZE = 5 * MIB
MAX_PART_SIZE = 5 * 1024 * MIB
# Bucket naming rules (3-63 characters, lower-case letters, digits, dots and hyphens).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class S3Settings(AwsSettings):
    """One bucket, how to reach it, and how uploads are cut and encrypted."""

    bucket: str = Field(..., description="the bucket every key lives in")
    addressing_style: Literal["auto", "virtual", "path"] = Field(
        "auto", description="'path' for stores without virtual-host buckets (MinIO, some B2)"
    )
    part_size: int = Field(
        MIN_PART_SIZE,
        ge=MIN_PART_SIZE,
        le=MAX_PART_SIZE,
        description=(
            "bytes per multipart part; smaller uploads are one PutObject. Parts 1-1,000 are "
            "this size, then it doubles every 900 parts, up to 5 GiB, so 10,000 parts reach "
            "S3's 5 TiB object limit"
        ),
    )
    upload_concurrency: int = Field(
        2,
        ge=1,
        le=16,
        description=(
            "parts in memory at once (the one being filled included), so at most this many "
            "in flight; an upload holds about part_size x this up to part_size x 1,000 bytes, "
            "then this x the grown part (under 1/500 of the bytes sent, at most 5 GiB)"
        ),
    )
    server_side_encryption: Literal["AES256", "aws:kms"] | None = Field(
        None, description="ServerSideEncryption of every upload (None: the bucket's default)"
    )
    sse_kms_key_id: str | None = Field(
        None, description="SSEKMSKeyId: the KMS key (id, ARN or alias) for aws:kms"
    )
    list_page_size: int = Field(1000, ge=1, le=1000, description="MaxKeys per ListObjectsV2 page")

    @model_validator(mode="after")
    def _consistent(self) -> S3Settings:
        if not _BUCKET.match(self.bucket):
            raise ValueError(
                f"bucket {self.bucket!r} is not an S3 bucket name: 3-63 lower-case letters, "
                "digits, dots and hyphens"
            )
        if self.sse_kms_key_id is not None and self.server_side_encryption != "aws:kms":
            raise ValueError("sse_kms_key_id needs server_side_encryption = 'aws:kms'")
        return self

    def encryption_params(self) -> dict[str, str]:
        """The SSE parameters of PutObject / CreateMultipartUpload (empty: bucket default)."""
        params: dict[str, str] = {}
        if self.server_side_encryption is not None:
            params["ServerSideEncryption"] = self.server_side_encryption
        if self.sse_kms_key_id is not None:
            params["SSEKMSKeyId"] = self.sse_kms_key_id
        return params
