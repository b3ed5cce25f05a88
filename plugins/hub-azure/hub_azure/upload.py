"""Streaming uploads to a block blob: one Put Blob up to ``block_size``, staged blocks above it.

Blocks are cut from the stream as it arrives and staged (Put Block) while the next one fills, at
most ``upload_concurrency`` at once, then committed in order by one Put Block List, which also
sets the content type and metadata. Nothing is visible before the commit; staged blocks of an
upload that fails are never committed and Azure discards them (after a week at most, or at the
blob's next commit), so a failed upload leaves no object and no bill for an orphaned blob.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass

import anyio
import httpx

from hub.capabilities.storage import fixed_parts
from hub.errors import InvalidRequest, primary_error
from hub_azure.mapping import block_id, block_list_xml

__all__ = ["MAX_BLOCKS", "Committed", "upload"]

#: A block blob holds at most 50,000 committed blocks.
MAX_BLOCKS = 50_000

Send = Callable[..., Awaitable[httpx.Response]]


@dataclass(frozen=True, slots=True)
class Committed:
    response: httpx.Response
    size: int
    blocks: int


async def upload(
    send: Send,
    path: str,
    data: AsyncIterator[bytes],
    *,
    headers: Mapping[str, str],
    block_size: int,
    concurrency: int,
) -> Committed:
    """Store ``data`` at ``path``; ``headers`` carry the content type and ``x-ms-meta-*``.

    ``send`` is the provider's ``request`` (its error boundary and signing apply).
    """
    pieces = fixed_parts(data, block_size)
    first, last = await anext(pieces)
    if last:
        response = await send(
            "PUT",
            path,
            content=first,
            headers={**headers, "x-ms-blob-type": "BlockBlob"},
            expected=(201,),
        )
        return Committed(response, len(first), 0)
    upload_id = uuid.uuid4().hex
    ids: list[str] = []
    size = 0
    slots = anyio.Semaphore(concurrency)

    async def stage(block: str, body: bytes) -> None:
        try:
            await send(
                "PUT",
                path,
                content=body,
                params={"comp": "block", "blockid": block},
                expected=(201,),
            )
        finally:
            slots.release()

    async def staged(piece: bytes) -> AsyncIterator[bytes]:
        yield piece
        async for more, _ in pieces:
            yield more

    try:
        async with anyio.create_task_group() as group:
            async for body in staged(first):
                if not body:
                    break  # the stream ended exactly on a block boundary
                if len(ids) == MAX_BLOCKS:
                    raise InvalidRequest(
                        f"the upload needs more than {MAX_BLOCKS} blocks of {block_size} bytes; "
                        "raise the azure block_size setting",
                        field="data",
                    )
                ids.append(block_id(upload_id, len(ids)))
                size += len(body)
                await slots.acquire()
                group.start_soon(stage, ids[-1], body)
    except BaseExceptionGroup as failed:
        raise primary_error(failed) from None
    response = await send(
        "PUT",
        path,
        content=block_list_xml(ids),
        params={"comp": "blocklist"},
        headers={**headers, "Content-Type": "application/xml; charset=utf-8"},
        expected=(201,),
    )
    return Committed(response, size, len(ids))
