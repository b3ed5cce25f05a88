"""Storing through Azure Blob Storage on Azurite: blocks, ranges, listing, SAS URLs, memory."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from hub import Hub
from hub.errors import AuthenticationError, NotFound
from hub.http import override_transport
from tests.plugins.azure.conftest import CONTAINER, admin_client
from tests.plugins.storage._support import MIB, Pattern, PeakMemory

pytestmark = pytest.mark.anyio


async def chunks(size: int, *, fail_after: int | None = None) -> AsyncIterator[bytes]:
    sent = 0
    while sent < size:
        if fail_after is not None and sent >= fail_after:
            raise RuntimeError("the source broke")
        piece = bytes([sent // (256 * 1024) % 256]) * min(256 * 1024, size - sent)
        sent += len(piece)
        yield piece


def committed_blocks(azurite: str, key: str) -> list[str]:
    with admin_client(azurite) as client:
        answer = client.get(f"/{CONTAINER}/{key}", params={"comp": "blocklist"})
    assert answer.status_code == 200, answer.text
    return re.findall(r"<Block><Name>([^<]+)</Name>", answer.text)


class Counter(httpx.AsyncBaseTransport):
    """Counts the requests passing to the real transport (a transport_override wrapper)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


async def test_small_object_is_one_put_blob(azure_hub: Callable[..., Hub], azurite: str) -> None:
    hub = azure_hub()
    receipt = await hub.storage.put(
        "docs/a.csv", b"id\n1\n", content_type="text/csv", metadata={"customer-id": "42"}
    )
    assert receipt.raw["blocks"] == 0
    with admin_client(azurite) as client:
        stored = client.head(f"/{CONTAINER}/docs/a.csv")
    assert stored.headers["content-type"] == "text/csv"
    assert stored.headers["x-ms-meta-customer_did"] == "42", "Azure names are C# identifiers"
    assert stored.headers["x-ms-blob-type"] == "BlockBlob"
    info = await hub.storage.head("docs/a.csv")
    assert info.metadata == {"customer-id": "42"}
    await hub.storage.delete("docs/a.csv")


async def test_large_object_is_staged_in_blocks(
    azure_hub: Callable[..., Hub], azurite: str
) -> None:
    hub = azure_hub(block_size=MIB)
    data = b"".join([c async for c in chunks(3 * MIB + 512 * 1024)])
    receipt = await hub.storage.put(
        "big/blocks.bin",
        chunks(len(data)),
        content_type="application/x-test",
        metadata={"origin": "test", "2nd_try": "yes"},
    )
    assert receipt.raw["blocks"] == 4, "3.5 MiB at 1 MiB blocks"
    blocks = committed_blocks(azurite, "big/blocks.bin")
    assert len(blocks) == 4
    assert len({len(base64.b64decode(b)) for b in blocks}) == 1, "block ids of one length"
    info = await hub.storage.head("big/blocks.bin")
    assert info.size == len(data)
    assert info.content_type == "application/x-test"
    assert info.metadata == {"origin": "test", "2nd_try": "yes"}
    assert await hub.storage.get("big/blocks.bin") == data
    assert receipt.checksum == hashlib.sha256(data).hexdigest()
    await hub.storage.delete("big/blocks.bin")


async def test_a_stream_ending_on_a_block_boundary_has_no_empty_block(
    azure_hub: Callable[..., Hub], azurite: str
) -> None:
    hub = azure_hub(block_size=MIB)
    receipt = await hub.storage.put("big/even.bin", chunks(2 * MIB))
    assert receipt.raw["blocks"] == 2
    assert len(committed_blocks(azurite, "big/even.bin")) == 2
    assert (await hub.storage.head("big/even.bin")).size == 2 * MIB
    await hub.storage.delete("big/even.bin")


async def test_a_broken_source_commits_nothing(azure_hub: Callable[..., Hub]) -> None:
    hub = azure_hub(block_size=MIB)
    with pytest.raises(RuntimeError, match="the source broke"):
        await hub.storage.put("big/broken.bin", chunks(5 * MIB, fail_after=3 * MIB))
    with pytest.raises(NotFound):
        await hub.storage.head("big/broken.bin")


async def test_ranged_reads(azure_hub: Callable[..., Hub]) -> None:
    hub = azure_hub()
    data = bytes(range(256)) * 4
    await hub.storage.put("range.bin", data)
    part = b"".join([c async for c in hub.storage.stream("range.bin", byte_range=(10, 20))])
    past_end = [c async for c in hub.storage.stream("range.bin", byte_range=(5000, 6000))]
    empty = [c async for c in hub.storage.stream("range.bin", byte_range=(7, 7))]
    clipped = b"".join([c async for c in hub.storage.stream("range.bin", byte_range=(1000, 9000))])
    assert part == data[10:20]
    assert past_end == []
    assert empty == []
    assert clipped == data[1000:]
    with pytest.raises(NotFound):
        async for _ in hub.storage.stream("missing.bin", byte_range=(0, 0)):
            pass
    await hub.storage.delete("range.bin")


async def test_listing_follows_markers_with_types_and_metadata(
    azure_hub: Callable[..., Hub],
) -> None:
    hub = azure_hub(list_page_size=5)
    keys = [f"paged/{n:02d}.txt" for n in range(12)]
    for key in keys:
        await hub.storage.put(key, key.encode(), metadata={"n-th": key[6:8]})
    counters: list[Counter] = []

    def counting(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        counters.append(Counter(inner))
        return counters[-1]

    with override_transport(counting):
        listed = [info async for info in hub.storage.list("paged/")]
    assert [i.key for i in listed] == keys
    requests = [r for c in counters for r in c.requests]
    assert len(requests) == 3, "12 blobs at 5 a page"
    assert "marker" in requests[1].url.params
    assert all(i.content_type == "text/plain" for i in listed)
    assert [i.metadata for i in listed] == [{"n-th": k[6:8]} for k in keys]
    for key in keys:
        await hub.storage.delete(key)


async def test_sas_urls_let_plain_httpx_upload_and_download(
    azure_hub: Callable[..., Hub],
) -> None:
    hub = azure_hub()
    put_url = await hub.storage.url("shared/upload.txt", expires_in=300, method="PUT")
    assert "sp=cw" in put_url
    assert "sr=b" in put_url
    async with httpx.AsyncClient() as plain:
        answer = await plain.put(
            put_url,
            content=b"uploaded by a browser",
            headers={"x-ms-blob-type": "BlockBlob", "Content-Type": "text/plain"},
        )
        assert answer.status_code == 201, answer.text
        get_url = await hub.storage.url("shared/upload.txt", expires_in=300)
        fetched = await plain.get(get_url)
        assert fetched.status_code == 200
        assert fetched.content == b"uploaded by a browser"
        refused = await plain.put(
            get_url, content=b"overwrite", headers={"x-ms-blob-type": "BlockBlob"}
        )
        assert refused.status_code == 403, "a read grant does not allow writing"
        forged = await plain.get(get_url.replace("sp=r", "sp=rw"))
        assert forged.status_code == 403, "the signature covers the permissions"
    assert await hub.storage.get("shared/upload.txt") == b"uploaded by a browser"
    await hub.storage.delete("shared/upload.txt")


async def test_a_wrong_key_is_an_authentication_error(azure_hub: Callable[..., Hub]) -> None:
    hub = azure_hub(account_key=base64.b64encode(b"not-the-key-azurite-knows").decode())
    with pytest.raises(AuthenticationError) as caught:
        await hub.storage.head("anything.txt")
    assert caught.value.retryable is False


@pytest.mark.slow
async def test_200_mb_streams_through_in_constant_memory(
    azure_hub: Callable[..., Hub], azurite: str
) -> None:
    """200 MB into Azurite and back, hashed both ways, with under 100 MB added RSS.

    Azurite is a separate (node) process, so the meter sees only this one: the hub, httpx and
    aiohttp. Blocks of 8 MiB, two in flight (the defaults).
    """
    if not PeakMemory.available():
        pytest.skip("needs Linux /proc/self/clear_refs to measure peak memory")
    hub = azure_hub()
    await hub.storage.put("warm-up.txt", b"x")
    await hub.storage.get("warm-up.txt")
    pattern = Pattern(200 * 1024 * 1024)
    received = hashlib.sha256()
    with PeakMemory() as memory:
        receipt = await hub.storage.put("big/200mb.bin", pattern.chunks())
        async for chunk in hub.storage.stream("big/200mb.bin", chunk_size=MIB):
            received.update(chunk)
    assert receipt.size == pattern.size
    assert receipt.checksum == pattern.sent.hexdigest()
    assert received.hexdigest() == pattern.sent.hexdigest(), "the bytes read back differ"
    assert memory.added_mib < 100, f"the round trip added {memory.added_mib:.0f} MiB of RSS"
    await hub.storage.delete("big/200mb.bin")
    await hub.storage.delete("warm-up.txt")
