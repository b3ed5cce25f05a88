"""Streaming uploads: one multipart request up to ``chunk_size``, a resumable session above it.

A multipart upload (``uploadType=multipart``) carries the object resource (name, content type,
metadata) and the bytes in one ``multipart/related`` request. Larger streams open a resumable
session (``uploadType=resumable``: the resource goes in the POST, the answer's ``Location`` is
the session URI) and PUT it chunks of ``chunk_size`` bytes (multiples of 256 KiB) with
``Content-Range: bytes a-b/*``; Google answers ``308`` with the ``Range`` it has persisted
(bytes it did not keep are sent again), and the last chunk names the total. A session that
fails or is cancelled is deleted (shielded from the cancellation), as Google documents for
cancelling an upload, so nothing half-written stays behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import anyio
import httpx

from hub.capabilities.storage import fixed_parts
from hub.errors import HubError, ProviderError

__all__ = ["multipart_body", "upload"]

Send = Callable[..., Awaitable[httpx.Response]]
_PERSISTED = re.compile(r"bytes=0-(\d+)")
_CANCEL_SECONDS = 30.0
_log = logging.getLogger("hub_gcs")


def multipart_body(
    resource: Mapping[str, Any], content: bytes, content_type: str
) -> tuple[bytes, str]:
    """The ``multipart/related`` body and its Content-Type, with a boundary derived from the
    content (so the same upload is the same request, and a cassette can match it)."""
    meta = json.dumps(resource, separators=(",", ":"), sort_keys=True).encode()
    seed = hashlib.sha256(meta + content).hexdigest()
    boundary = f"hub-{seed[:32]}"
    while boundary.encode() in content:  # practically never: then derive another
        seed = hashlib.sha256(seed.encode()).hexdigest()
        boundary = f"hub-{seed[:32]}"
    body = b"".join(
        [
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
            meta,
            f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode(),
            content,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    return body, f"multipart/related; boundary={boundary}"


async def upload(
    send: Send,
    data: AsyncIterator[bytes],
    *,
    bucket_path: str,
    resource: Mapping[str, Any],
    chunk_size: int,
    provider: str,
) -> dict[str, Any]:
    """Store ``data`` as ``resource`` (name, contentType, metadata); returns the object resource.

    ``send(method, url, **options)`` is the provider's authorized request.
    """
    pieces = fixed_parts(data, chunk_size)
    first, last = await anext(pieces)
    url = f"/upload/storage/v1/b/{bucket_path}/o"
    content_type = str(resource["contentType"])
    if last:
        body, body_type = multipart_body(resource, first, content_type)
        answer = await send(
            "POST",
            url,
            params={"uploadType": "multipart"},
            headers={"Content-Type": body_type},
            content=body,
            expected=(200,),
        )
        result: dict[str, Any] = answer.json()
        return result
    started = await send(
        "POST",
        url,
        params={"uploadType": "resumable"},
        headers={
            "Content-Type": "application/json; charset=UTF-8",
            "X-Upload-Content-Type": content_type,
        },
        content=json.dumps(resource, separators=(",", ":")).encode(),
        expected=(200,),
    )
    session = started.headers.get("location")
    if not session:
        raise ProviderError(
            "the resumable upload answer carries no Location (session URI)",
            provider=provider,
            retryable=False,
        )
    try:
        return await _send_chunks(send, session, first, pieces, provider)
    except BaseException:
        await _cancel(send, session)
        raise


async def _send_chunks(
    send: Send,
    session: str,
    first: bytes,
    pieces: AsyncIterator[tuple[bytes, bool]],
    provider: str,
) -> dict[str, Any]:
    offset = 0
    piece, last = first, False
    while True:
        if last:
            end = offset + len(piece)  # never empty: only a whole stream can be
            span = f"bytes {offset}-{end - 1}/{end}"
            answer = await send(
                "PUT", session, headers={"Content-Range": span}, content=piece, expected=(200, 201)
            )
            result: dict[str, Any] = answer.json()
            return result
        while piece:  # until Google has persisted the whole chunk
            span = f"bytes {offset}-{offset + len(piece) - 1}/*"
            answer = await send(
                "PUT", session, headers={"Content-Range": span}, content=piece, expected=(308,)
            )
            match = _PERSISTED.fullmatch(answer.headers.get("range", ""))
            persisted = int(match.group(1)) + 1 if match else 0
            kept = max(0, persisted - offset)
            piece, offset = piece[kept:], offset + kept
            if not kept and piece:
                raise ProviderError(
                    f"the upload session persisted nothing of a chunk at offset {offset}",
                    provider=provider,
                    retryable=False,
                )
        piece, last = await anext(pieces)


async def _cancel(send: Send, session: str) -> None:
    """DELETE the session (Google answers 499), even while being cancelled; never raises."""
    with anyio.CancelScope(shield=True) as scope:
        scope.deadline = anyio.current_time() + _CANCEL_SECONDS
        try:
            await send("DELETE", session, expected=(499, 204, 404, 410))
        except HubError as exc:
            _log.warning("could not cancel a resumable upload session: %s", exc)
