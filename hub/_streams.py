"""Streamed HTTP bodies for an :class:`hub.http.HttpProvider`, mapped at the same boundary.

``HttpProvider.request`` reads whole responses, which a download must not do, and hands a
``bytes`` body to the transport, where aiohttp warns (an error under the hub's tests) for
anything above 1 MiB. This opens the response with ``client.send(..., stream=True)``, sends a
body as a stream with its Content-Length (never chunked: storage services refuse that), and
maps failures exactly as ``request`` does: an unexpected status becomes the provider's hub error
(its ``map_error`` hooks included) and a transport failure, on sending or while reading the
body, a redacted ProviderError.

Plugins import these from :mod:`hub.http` (storage vendors: Azure Blob, Google Cloud Storage).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx

from hub._http_errors import IDEMPOTENT_METHODS, scrub, transport_error
from hub.errors import HubError

if TYPE_CHECKING:
    from hub.http import HttpProvider

__all__ = ["body_chunks", "open_stream", "send_streamed"]


def _transport(provider: HttpProvider, method: str, exc: Exception) -> HubError:
    target = f"{method} {provider._safe_target('', exc)}"
    error = transport_error(
        exc, provider=provider.name, target=target, repeatable=method in IDEMPOTENT_METHODS
    )
    return scrub(error, provider.secrets)


@asynccontextmanager
async def open_stream(
    provider: HttpProvider,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    expected: Collection[int] = (200, 206),
) -> AsyncIterator[httpx.Response]:
    """The response with its body unread; closed when the block ends, however it ends."""
    client = provider.client
    body = None
    if content is not None:
        headers = {**(headers or {}), "Content-Length": str(len(content))}
        body = _once(content)
    request = client.build_request(method, url, params=params, headers=headers, content=body)
    try:
        response = await client.send(request, stream=True)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise _transport(provider, method, exc) from None
    try:
        if response.status_code not in expected:
            await response.aread()  # an error body is small: read it for the message
            raise provider.error_for(response)
        yield response
    finally:
        await response.aclose()


async def send_streamed(
    provider: HttpProvider,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    expected: Collection[int] = (200, 201, 202, 204),
) -> httpx.Response:
    """Like ``HttpProvider.request``, its body sent as a stream; the (small) answer read."""
    async with open_stream(
        provider, method, url, params=params, headers=headers, content=content, expected=expected
    ) as response:
        try:
            await response.aread()
        except httpx.HTTPError as exc:
            raise _transport(provider, method, exc) from None
    return response


async def _once(content: bytes) -> AsyncIterator[bytes]:
    if content:
        yield content


async def body_chunks(
    provider: HttpProvider, response: httpx.Response, chunk_size: int
) -> AsyncIterator[bytes]:
    """The body in pieces of ``chunk_size`` bytes (the last may be shorter)."""
    try:
        async for chunk in response.aiter_bytes(chunk_size):
            yield chunk
    except httpx.HTTPError as exc:
        raise _transport(provider, response.request.method, exc) from None
