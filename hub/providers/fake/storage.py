"""Fake storage: objects in a dict, fault injection, and presigned URLs a test can verify.

An upload is buffered and stored only once its stream ends, like a vendor that commits an
object when the request completes: a failed upload leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, unquote, urlsplit

from hub._runtime import ProviderContext
from hub.capabilities.storage import Method, ObjectInfo, PutReceipt, validate_key, validate_prefix
from hub.errors import HubError, InvalidRequest, NotFound
from hub.providers.fake._faults import FakeSettings, Faults

__all__ = ["FakeStorageProvider"]

_PAGE = 100


@dataclass(frozen=True, slots=True)
class StoredObject:
    data: bytes
    content_type: str
    metadata: dict[str, str]
    etag: str
    last_modified: datetime


class FakeStorageProvider:
    def __init__(self, settings: FakeSettings, context: ProviderContext) -> None:
        self.name = context.name
        self.faults = Faults(context.name, settings.latency)
        self.objects: dict[str, StoredObject] = {}
        self._secret = secrets.token_bytes(32)

    def fail_next(self, n: int = 1, error: HubError | None = None) -> None:
        self.faults.fail_next(n, error)

    def _get(self, key: str) -> StoredObject:
        found = self.objects.get(key)
        if found is None:
            raise NotFound(f"no object with key {key!r}", provider=self.name, status=404)
        return found

    def _info(self, key: str, obj: StoredObject) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=len(obj.data),
            content_type=obj.content_type,
            metadata=dict(obj.metadata),
            etag=obj.etag,
            last_modified=obj.last_modified,
            provider=self.name,
            provider_id=key,
        )

    async def put(
        self, key: str, data: AsyncIterator[bytes], *, content_type: str, metadata: dict[str, str]
    ) -> PutReceipt:
        await self.faults.before("put")
        validate_key(key)
        buffer = bytearray()
        async for chunk in data:
            buffer += chunk
        body = bytes(buffer)
        etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
        self.objects[key] = StoredObject(
            body, content_type, dict(metadata), etag, datetime.now(UTC)
        )
        return PutReceipt(
            provider=self.name,
            provider_id=key,
            key=key,
            size=len(body),
            etag=etag,
            content_type=content_type,
            metadata=dict(metadata),
        )

    async def stream(
        self, key: str, *, chunk_size: int, byte_range: tuple[int, int] | None = None
    ) -> AsyncIterator[bytes]:
        await self.faults.before("stream")
        validate_key(key)
        data = self._get(key).data
        start, end = byte_range if byte_range is not None else (0, len(data))
        view = memoryview(data)[start : min(end, len(data))]
        for offset in range(0, len(view), chunk_size):
            yield bytes(view[offset : offset + chunk_size])

    async def head(self, key: str) -> ObjectInfo:
        await self.faults.before("head")
        validate_key(key)
        return self._info(key, self._get(key))

    async def delete(self, key: str) -> None:
        await self.faults.before("delete")
        validate_key(key)
        self.objects.pop(key, None)

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        """Pages of keys after a cursor, as a vendor lists: objects added meanwhile may show."""
        await self.faults.before("list")
        validate_prefix(prefix)
        after = ""
        while True:
            page = sorted(k for k in self.objects if k.startswith(prefix) and k > after)[:_PAGE]
            for key in page:
                obj = self.objects.get(key)
                if obj is not None:
                    yield self._info(key, obj)
            if len(page) < _PAGE:
                return
            after = page[-1]

    async def url(self, key: str, *, expires_in: float, method: Method) -> str:
        await self.faults.before("url")
        validate_key(key)
        expires = int(time.time() + expires_in)
        signature = self._sign(method, key, expires)
        return (
            f"fake-storage://{self.name}/{quote(key)}"
            f"?method={method}&expires={expires}&signature={signature}"
        )

    def verify_url(self, url: str) -> tuple[Method, str]:
        """``(method, key)`` a URL from :meth:`url` grants, or InvalidRequest if forged/expired."""
        parts = urlsplit(url)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        key = unquote(parts.path.lstrip("/"))
        method = query.get("method", "")
        try:
            expires = int(query.get("expires", ""))
        except ValueError:
            raise InvalidRequest("the URL carries no expiry", provider=self.name) from None
        if method not in ("GET", "PUT") or not hmac.compare_digest(
            self._sign(method, key, expires), query.get("signature", "")
        ):
            raise InvalidRequest("the URL's signature does not match", provider=self.name)
        if expires < time.time():
            raise InvalidRequest("the URL has expired", provider=self.name)
        return ("GET" if method == "GET" else "PUT"), key

    def _sign(self, method: str, key: str, expires: int) -> str:
        message = f"{method}\n{key}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    async def aclose(self) -> None:
        return None
