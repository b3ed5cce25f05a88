"""The ``gcs`` storage provider: objects in one bucket through the Cloud Storage JSON API.

Every request carries a service account's access token (:mod:`hub_gcs.credentials`, cached and
refreshed shortly before it expires) and goes through :class:`hub.http.HttpProvider`'s error
boundary; Google's ``{"error": {"code", "message", "errors": [{"reason"}]}}`` bodies give the
message and the reason, which with the status decides the hub error.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx

from hub.capabilities.storage import Method, ObjectInfo, PutReceipt
from hub.errors import AuthenticationError, HubError, NotFound, ProviderError, RateLimited
from hub.http import HttpProvider, body_chunks, open_stream
from hub.http import send_streamed as send
from hub_gcs.credentials import JWT_GRANT, AccessToken, TokenCache
from hub_gcs.signing import signed_url
from hub_gcs.upload import upload

if TYPE_CHECKING:
    from hub._runtime import ProviderContext
    from hub_gcs.settings import GcsSettings

__all__ = ["GcsStorageProvider"]

#: ``errors[0].reason`` values that mean "slow down", whatever the status (403 or 429).
_RATE_LIMITED = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


class GcsStorageProvider(HttpProvider):
    """Stores objects in ``settings.bucket``."""

    idempotency_header: ClassVar[str | None] = None

    def __init__(self, settings: GcsSettings, context: ProviderContext) -> None:
        super().__init__(context, base_url=settings.base_url, secrets=settings.secrets())
        self.settings = settings
        self.bucket = settings.bucket
        self.account = settings.service_account()
        self._tokens = TokenCache(self._fetch_token)
        split = urlsplit(settings.base_url)
        self._scheme, self._host = split.scheme, split.netloc

    # -- credentials ----------------------------------------------------------------------

    async def _fetch_token(self) -> AccessToken:
        answer = await self.request(
            "POST",
            self.account.token_uri,
            data={"grant_type": JWT_GRANT, "assertion": self.account.assertion()},
            expected=(200,),
        )
        body = answer.json()
        token = str(body["access_token"])
        self.secrets.add(token)
        return AccessToken(token, time.time() + float(body.get("expires_in", 3600)))

    async def _auth(self, headers: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**(headers or {}), "Authorization": f"Bearer {await self._tokens.get()}"}

    async def _send(self, method: str, url: str, **options: Any) -> httpx.Response:
        headers = await self._auth(options.pop("headers", None))
        return await send(self, method, url, headers=headers, **options)

    def _object(self, key: str) -> str:
        return f"/storage/v1/b/{self.bucket}/o/{quote(key, safe='')}"

    # -- the provider protocol --------------------------------------------------------

    async def put(
        self, key: str, data: AsyncIterator[bytes], *, content_type: str, metadata: dict[str, str]
    ) -> PutReceipt:
        resource: dict[str, Any] = {"name": key, "contentType": content_type}
        if metadata:
            resource["metadata"] = dict(metadata)
        stored = await upload(
            self._send,
            data,
            bucket_path=self.bucket,
            resource=resource,
            chunk_size=self.settings.chunk_size,
            provider=self.name,
        )
        return PutReceipt(
            provider=self.name,
            provider_id=str(stored.get("id") or key),
            key=key,
            size=int(stored.get("size", 0)),
            etag=str(stored.get("etag", "")),
            content_type=str(stored.get("contentType") or content_type),
            metadata=dict(stored.get("metadata") or metadata),
            raw=stored,
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
            headers["Range"] = f"bytes={start}-{end - 1}"
        try:
            async with open_stream(
                self,
                "GET",
                self._object(key),
                params={"alt": "media"},
                headers=await self._auth(headers),
            ) as response:
                async for chunk in body_chunks(self, response, chunk_size):
                    yield chunk
        except ProviderError as exc:
            if byte_range is not None and exc.status == 416:
                return  # the range starts past the end: nothing to read
            raise

    async def head(self, key: str) -> ObjectInfo:
        answer = await self.request(
            "GET", self._object(key), headers=await self._auth(), expected=(200,)
        )
        return self._info(answer.json())

    async def delete(self, key: str) -> None:
        try:
            await self.request(
                "DELETE", self._object(key), headers=await self._auth(), expected=(204, 200)
            )
        except NotFound:
            return  # deleting is idempotent

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        """objects.list pages, followed by ``pageToken``."""
        params: dict[str, Any] = {"maxResults": self.settings.list_page_size}
        if prefix:
            params["prefix"] = prefix
        while True:
            answer = await self.request(
                "GET",
                f"/storage/v1/b/{self.bucket}/o",
                params=params,
                headers=await self._auth(),
                expected=(200,),
            )
            page = answer.json()
            for item in page.get("items", []):
                yield self._info(item)
            token = page.get("nextPageToken")
            if not token:
                return
            params["pageToken"] = token

    async def url(self, key: str, *, expires_in: float, method: Method) -> str:
        """A V4 signed URL; a PUT through it may carry any Content-Type."""
        return signed_url(
            self.account,
            bucket=self.bucket,
            name=key,
            method=method,
            expires_in=int(expires_in),
            host=self._host,
            scheme=self._scheme,
        )

    def _info(self, item: Mapping[str, Any]) -> ObjectInfo:
        return ObjectInfo(
            key=str(item["name"]),
            size=int(item.get("size", 0)),
            content_type=str(item.get("contentType") or ""),
            metadata=dict(item.get("metadata") or {}),
            etag=str(item.get("etag", "")),
            last_modified=_rfc3339(item.get("updated")),
            provider=self.name,
            provider_id=str(item.get("id") or item["name"]),
            raw=dict(item),
        )

    # -- Google's error answers ---------------------------------------------------------

    def vendor_code(self, response: httpx.Response) -> str | None:
        try:
            body = response.json()
        except ValueError:
            return None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, str):
            return error  # the token endpoint: {"error": "invalid_grant", ...}
        if isinstance(error, dict):
            errors = error.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                reason = errors[0].get("reason")
                if isinstance(reason, str):
                    return reason
            status = error.get("status")
            return status if isinstance(status, str) else None
        return None

    def map_error(self, response: httpx.Response) -> HubError | None:
        if str(response.request.url) == self.account.token_uri and response.status_code < 500:
            return self.provider_error(
                AuthenticationError,
                response,
                f"{self.name}: the token endpoint refused the service account "
                f"{self.account.client_email} (HTTP {response.status_code}, "
                f"{self.vendor_code(response)}); check the key and that the account exists",
            )
        if response.status_code == 401:
            self._tokens.invalidate()  # expired or revoked: the next call fetches a new one
        if self.vendor_code(response) in _RATE_LIMITED:
            return self.provider_error(RateLimited, response)
        return None

    def __repr__(self) -> str:
        return (
            f"<GcsStorageProvider storage.{self.name} bucket={self.bucket!r} "
            f"account={self.account.client_email!r}>"
        )


def _rfc3339(value: Any) -> datetime:
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    return datetime.now(UTC)
