"""The ``azure`` storage provider: block blobs in one container, over the Blob service REST API.

Requests are signed with the account's Shared Key (:mod:`hub_azure.auth`) and go through
:class:`hub.http.HttpProvider`, whose one error boundary maps Azure's answers with the hooks
below: the error code (``x-ms-error-code`` header, else ``<Error><Code>``) decides the type.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import httpx

from hub.capabilities.storage import Method, ObjectInfo, PutReceipt
from hub.errors import (
    AuthenticationError,
    HubError,
    NotFound,
    ProviderError,
    RateLimited,
    Timeout,
)
from hub.http import HttpProvider, body_chunks, open_stream
from hub.http import send_streamed as send
from hub_azure.auth import SharedKeyAuth, sas_query
from hub_azure.mapping import (
    Listed,
    error_fields,
    http_date,
    metadata_from_headers,
    metadata_headers,
)
from hub_azure.upload import upload

if TYPE_CHECKING:
    from hub._runtime import ProviderContext
    from hub_azure.settings import AzureBlobSettings

__all__ = ["AzureBlobProvider"]

#: Documented Blob service error codes and the hub error each one is.
ERROR_TYPES: Mapping[str, type[ProviderError]] = {
    **dict.fromkeys(
        (
            "AuthenticationFailed",
            "AuthorizationFailure",
            "AuthorizationPermissionMismatch",
            "AuthorizationProtocolMismatch",
            "AuthorizationSourceIPMismatch",
            "AuthorizationResourceTypeMismatch",
            "InsufficientAccountPermissions",
            "InvalidAuthenticationInfo",
            "NoAuthenticationInformation",
            "AccountIsDisabled",
        ),
        AuthenticationError,
    ),
    **dict.fromkeys(
        ("BlobNotFound", "ContainerNotFound", "ResourceNotFound", "ContainerBeingDeleted"),
        NotFound,
    ),
    # Azure throttles with 503 ServerBusy ("Operations per second is over the account limit").
    "ServerBusy": RateLimited,
    "OperationTimedOut": Timeout,
}
#: SAS permissions: read for GET; create + write for PUT.
_PERMISSIONS: Mapping[Method, str] = {"GET": "r", "PUT": "cw"}


class AzureBlobProvider(HttpProvider):
    """Stores objects as block blobs under ``settings.container``."""

    idempotency_header: ClassVar[str | None] = None

    def __init__(self, settings: AzureBlobSettings, context: ProviderContext) -> None:
        secret = settings.account_key.get_secret_value() if settings.account_key else ""
        super().__init__(
            context,
            base_url=settings.base_url,
            auth=SharedKeyAuth(settings.account, settings.key, settings.api_version),
            secrets=[secret],
        )
        self.settings = settings
        self.container = settings.container

    async def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        return await send(self, method, path, **options)

    def _path(self, key: str) -> str:
        return f"{self.container}/{quote(key, safe='/')}"

    # -- the provider protocol --------------------------------------------------------

    async def put(
        self, key: str, data: AsyncIterator[bytes], *, content_type: str, metadata: dict[str, str]
    ) -> PutReceipt:
        headers = {"x-ms-blob-content-type": content_type, **metadata_headers(metadata)}
        done = await upload(
            self._send,
            self._path(key),
            data,
            headers=headers,
            block_size=self.settings.block_size,
            concurrency=self.settings.upload_concurrency,
        )
        answer = done.response.headers
        return PutReceipt(
            provider=self.name,
            provider_id=answer.get("x-ms-version-id") or key,
            key=key,
            size=done.size,
            etag=answer.get("etag", "").strip('"'),
            content_type=content_type,
            metadata=dict(metadata),
            raw={
                "etag": answer.get("etag"),
                "last_modified": answer.get("last-modified"),
                "request_id": answer.get("x-ms-request-id"),
                "blocks": done.blocks,
            },
        )

    async def stream(
        self, key: str, *, chunk_size: int, byte_range: tuple[int, int] | None = None
    ) -> AsyncIterator[bytes]:
        headers: dict[str, str] = {}
        if byte_range is not None:
            start, end = byte_range
            if start >= end:
                await self.head(key)  # nothing to read, but a missing key is still NotFound
                return
            headers["x-ms-range"] = f"bytes={start}-{end - 1}"
        try:
            async with open_stream(self, "GET", self._path(key), headers=headers) as response:
                async for chunk in body_chunks(self, response, chunk_size):
                    yield chunk
        except ProviderError as exc:
            if byte_range is not None and exc.vendor_code == "InvalidRange":
                return  # the range starts past the end: nothing to read
            raise

    async def head(self, key: str) -> ObjectInfo:
        response = await self.request("HEAD", self._path(key), expected=(200,))
        headers = response.headers
        return ObjectInfo(
            key=key,
            size=int(headers.get("content-length", "0")),
            content_type=headers.get("content-type", ""),
            metadata=metadata_from_headers(headers.multi_items()),
            etag=headers.get("etag", "").strip('"'),
            last_modified=http_date(headers.get("last-modified")),
            provider=self.name,
            provider_id=headers.get("x-ms-version-id") or key,
            raw={k: v for k, v in headers.items() if k.startswith(("x-ms-", "etag", "last-"))},
        )

    async def delete(self, key: str) -> None:
        try:
            await self.request("DELETE", self._path(key), expected=(202,))
        except NotFound as exc:
            if exc.vendor_code == "ContainerNotFound":
                raise  # a settings problem, not a missing object
            return  # BlobNotFound: deleting is idempotent

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        """List Blobs pages (with metadata), followed by ``NextMarker``."""
        params: dict[str, Any] = {
            "restype": "container",
            "comp": "list",
            "include": "metadata",
            "maxresults": self.settings.list_page_size,
        }
        if prefix:
            params["prefix"] = prefix
        while True:
            response = await self.request("GET", self.container, params=params, expected=(200,))
            page = Listed(response.content)
            for name, properties, metadata in page.blobs:
                yield ObjectInfo(
                    key=name,
                    size=int(properties.get("Content-Length") or 0),
                    content_type=properties.get("Content-Type", ""),
                    metadata=metadata,
                    etag=properties.get("Etag", "").strip('"'),
                    last_modified=http_date(properties.get("Last-Modified")),
                    provider=self.name,
                    provider_id=name,
                    raw=properties,
                )
            if not page.next_marker:
                return
            params["marker"] = page.next_marker

    async def url(self, key: str, *, expires_in: float, method: Method) -> str:
        """A service SAS URL for this blob: read for GET; create + write for PUT.

        A PUT through it must send ``x-ms-blob-type: BlockBlob`` (Put Blob's rule); its
        ``Content-Type`` becomes the blob's.
        """
        token = sas_query(
            self.settings.key,
            permissions=_PERMISSIONS[method],
            expires_at=datetime.now(UTC) + timedelta(seconds=expires_in),
            account=self.settings.account,
            container=self.container,
            blob=key,
            version=self.settings.api_version,
            https_only=self.settings.base_url.startswith("https://"),
        )
        return f"{self.settings.base_url}/{self._path(key)}?{token}"

    # -- Azure's error answers ----------------------------------------------------------

    def _code_and_message(self, response: httpx.Response) -> tuple[str | None, str | None]:
        code, message = error_fields(response.content) if response.content else (None, None)
        return response.headers.get("x-ms-error-code") or code, message

    def vendor_code(self, response: httpx.Response) -> str | None:
        return self._code_and_message(response)[0]

    def error_message(self, response: httpx.Response) -> str:
        code, message = self._code_and_message(response)
        return message or code or response.reason_phrase

    def map_error(self, response: httpx.Response) -> HubError | None:
        code = self._code_and_message(response)[0]
        error_type = ERROR_TYPES.get(code or "")
        if error_type is None:
            return None  # the status decides (400 → InvalidRequest, 5xx → Unavailable ...)
        if error_type is Timeout:  # the service gave up: repeatable where the method is
            repeatable = response.request.method in ("GET", "HEAD", "PUT", "DELETE")
            return self.provider_error(Timeout, response, retryable=repeatable)
        if error_type is NotFound and code == "ContainerNotFound":
            return self.provider_error(
                NotFound,
                response,
                f"{self.name}: container {self.container!r} does not exist; create it or fix "
                "the container setting",
            )
        return self.provider_error(error_type, response)

    def __repr__(self) -> str:
        return (
            f"<AzureBlobProvider storage.{self.name} account={self.settings.account!r} "
            f"container={self.container!r}>"
        )
