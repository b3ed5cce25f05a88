"""The ``s3`` storage provider: objects in one bucket through aiobotocore.

Every call goes through :class:`hub.aws.AwsClient`, whose one error boundary maps botocore's
failures onto the hub's errors (``NoSuchKey``/404 → NotFound, ``AccessDenied`` →
AuthenticationError, ``SlowDown`` → RateLimited ...). Bodies stream in both directions:
uploads through :mod:`hub_s3.upload`, downloads read from the response in ``chunk_size`` pieces.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.aws import aws_errors
from hub.capabilities.storage import Method, ObjectInfo, PutReceipt
from hub.errors import ProviderError
from hub_s3._client import S3Client
from hub_s3.upload import upload

if TYPE_CHECKING:
    from types_aiobotocore_s3.client import S3Client as BotoS3Client

    from hub._runtime import ProviderContext
    from hub_s3.settings import S3Settings

__all__ = ["S3StorageProvider"]

_OPERATIONS: Mapping[Method, str] = {"GET": "get_object", "PUT": "put_object"}


class S3StorageProvider:
    """Stores objects under ``settings.bucket``; S3-compatible stores work by settings."""

    def __init__(self, settings: S3Settings, context: ProviderContext) -> None:
        self.name = context.name
        self.settings = settings
        self.bucket = settings.bucket
        self._aws = S3Client(settings, context)

    async def client(self) -> BotoS3Client:
        """The aiobotocore S3 client, opened on first use (for what the hub does not wrap)."""
        client: BotoS3Client = await self._aws.get()
        return client

    async def put(
        self, key: str, data: AsyncIterator[bytes], *, content_type: str, metadata: dict[str, str]
    ) -> PutReceipt:
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "ContentType": content_type,
            "Metadata": dict(metadata),
            **self.settings.encryption_params(),
        }
        done = await upload(
            self._aws,
            data,
            object_params=params,
            part_size=self.settings.part_size,
            concurrency=self.settings.upload_concurrency,
        )
        return PutReceipt(
            provider=self.name,
            provider_id=done.version_id or key,
            key=key,
            size=done.size,
            etag=done.etag,
            content_type=content_type,
            metadata=dict(metadata),
            raw=done.raw,
        )

    async def stream(
        self, key: str, *, chunk_size: int, byte_range: tuple[int, int] | None = None
    ) -> AsyncIterator[bytes]:
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if byte_range is not None:
            start, end = byte_range
            if start >= end:
                await self.head(key)  # nothing to read, but a missing key is still NotFound
                return
            params["Range"] = f"bytes={start}-{end - 1}"
        try:
            answer = await self._aws.call("get_object", params)
        except ProviderError as exc:
            if byte_range is not None and exc.vendor_code == "InvalidRange":
                return  # the range starts past the end: nothing to read
            raise
        async with answer["Body"] as body:
            while True:
                with aws_errors(self.name, "get_object (reading)"):
                    chunk = await body.read(chunk_size)
                if not chunk:
                    return
                yield chunk

    async def head(self, key: str) -> ObjectInfo:
        answer = await self._aws.call("head_object", {"Bucket": self.bucket, "Key": key})
        return ObjectInfo(
            key=key,
            size=int(answer.get("ContentLength", 0)),
            content_type=str(answer.get("ContentType") or ""),
            metadata=dict(answer.get("Metadata") or {}),
            etag=str(answer.get("ETag") or "").strip('"'),
            last_modified=_when(answer.get("LastModified")),
            provider=self.name,
            provider_id=answer.get("VersionId") or key,
            raw=_raw(answer),
        )

    async def delete(self, key: str) -> None:
        # S3 answers 204 for a key that does not exist: deleting is idempotent by itself.
        await self._aws.call("delete_object", {"Bucket": self.bucket, "Key": key})

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        """ListObjectsV2 pages, followed by ``ContinuationToken``.

        S3 lists neither content type nor metadata: those fields are empty here; ``head()``
        has them.
        """
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": prefix,
            "MaxKeys": self.settings.list_page_size,
        }
        while True:
            page = await self._aws.call("list_objects_v2", params)
            for item in page.get("Contents", []):
                yield ObjectInfo(
                    key=item["Key"],
                    size=int(item.get("Size", 0)),
                    content_type="",
                    etag=str(item.get("ETag") or "").strip('"'),
                    last_modified=_when(item.get("LastModified")),
                    provider=self.name,
                    provider_id=item["Key"],
                    raw=item,
                )
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return
            params["ContinuationToken"] = token

    async def url(self, key: str, *, expires_in: float, method: Method) -> str:
        """A SigV4 presigned URL; a PUT through it may carry any Content-Type."""
        client = await self._aws.get()
        with aws_errors(self.name, "generate_presigned_url"):
            signed: str = await client.generate_presigned_url(
                _OPERATIONS[method],
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=int(expires_in),
                HttpMethod=method,
            )
        return signed

    async def aclose(self) -> None:
        await self._aws.aclose()

    def __repr__(self) -> str:
        where = self.settings.endpoint_url or self.settings.region or "aws"
        return f"<S3StorageProvider name={self.name!r} bucket={self.bucket!r} at {where}>"


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _raw(answer: Mapping[str, Any]) -> dict[str, Any]:
    meta = answer.get("ResponseMetadata", {})
    raw = {k: v for k, v in answer.items() if k not in ("ResponseMetadata", "Body")}
    if meta.get("RequestId"):
        raw["RequestId"] = meta["RequestId"]
    return raw
