"""Storing through S3 on moto's server: uploads cut into parts, aborts, ranges, URLs, SSE."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import pytest

from hub import Hub
from hub.errors import ConfigurationError, NotFound, Unavailable
from tests.plugins.s3.conftest import BUCKET, Hook, hook, open_uploads, s3_client, s3_error
from tests.plugins.storage._support import MIB, Pattern, PeakMemory

pytestmark = pytest.mark.anyio

PART = 5 * MIB


async def chunks(size: int, *, fail_after: int | None = None) -> AsyncIterator[bytes]:
    """``size`` bytes in 1 MiB chunks; raises after ``fail_after`` bytes, as a broken source."""
    sent = 0
    while sent < size:
        if fail_after is not None and sent >= fail_after:
            raise RuntimeError("the source broke")
        piece = bytes([sent // MIB % 256]) * min(MIB, size - sent)
        sent += len(piece)
        yield piece


async def test_small_object_is_one_put_with_type_and_metadata(
    s3_hub: Callable[..., Hub], boto: Any
) -> None:
    hub = s3_hub(part_size=PART)
    receipt = await hub.storage.put(
        "docs/a.csv", b"id\n1\n", content_type="text/csv", metadata={"customer-id": "42"}
    )
    assert "UploadId" not in receipt.raw, "an object below part_size is a single PutObject"
    stored = boto.head_object(Bucket=BUCKET, Key="docs/a.csv")
    assert stored["ContentType"] == "text/csv"
    assert stored["Metadata"] == {"customer-id": "42"}
    assert receipt.etag == stored["ETag"].strip('"')
    await hub.storage.delete("docs/a.csv")


async def test_large_object_is_uploaded_in_parts(s3_hub: Callable[..., Hub], boto: Any) -> None:
    hub = s3_hub(part_size=PART)
    client = await s3_client(hub)
    parts = Hook()
    undo = hook(client, "UploadPart", parts)
    try:
        receipt = await hub.storage.put(
            "big/parts.bin",
            chunks(12 * MIB),
            content_type="application/x-test",
            metadata={"origin": "test"},
        )
    finally:
        undo()
    assert receipt.raw["Parts"] == 3, "12 MiB at 5 MiB parts: 5 + 5 + 2"
    assert parts.calls == 3
    assert [p["partNumber"] for p in parts.params] == ["1", "2", "3"]
    assert receipt.size == 12 * MIB
    stored = boto.head_object(Bucket=BUCKET, Key="big/parts.bin")
    assert stored["ContentLength"] == 12 * MIB
    assert stored["ContentType"] == "application/x-test"
    assert stored["Metadata"] == {"origin": "test"}
    expected = hashlib.sha256(b"".join([c async for c in chunks(12 * MIB)])).hexdigest()
    assert receipt.checksum == expected
    got = hashlib.sha256(await hub.storage.get("big/parts.bin")).hexdigest()
    assert got == expected
    assert open_uploads(boto) == []
    await hub.storage.delete("big/parts.bin")


@pytest.mark.parametrize("concurrency", [1, 2, 3])
async def test_an_upload_holds_at_most_upload_concurrency_parts(
    s3_hub: Callable[..., Hub], boto: Any, concurrency: int
) -> None:
    """However many parts, the source is never read further ahead of the parts S3 has
    acknowledged than ``upload_concurrency`` parts (plus the one chunk read to see where a part
    ends): what bounds an upload's memory, whatever the object's size."""
    hub = s3_hub(part_size=PART, upload_concurrency=concurrency)
    client = await s3_client(hub)
    acknowledged = 0

    def part_stored(**_: Any) -> None:
        nonlocal acknowledged
        acknowledged += 1

    client.meta.events.register("after-call.s3.UploadPart", part_stored)
    ahead: list[int] = []

    async def source() -> AsyncIterator[bytes]:
        pulled = 0
        async for piece in chunks(9 * PART + MIB):
            pulled += len(piece)
            ahead.append(pulled - acknowledged * PART)
            yield piece

    try:
        receipt = await hub.storage.put("big/bounded.bin", source())
    finally:
        client.meta.events.unregister("after-call.s3.UploadPart", part_stored)
    assert receipt.raw["Parts"] == 10
    assert acknowledged == 10
    assert max(ahead) <= concurrency * PART + MIB
    assert boto.head_object(Bucket=BUCKET, Key="big/bounded.bin")["ContentLength"] == 9 * PART + MIB
    await hub.storage.delete("big/bounded.bin")


async def test_an_object_of_exactly_one_part_is_one_put(
    s3_hub: Callable[..., Hub], boto: Any
) -> None:
    hub = s3_hub(part_size=PART)
    receipt = await hub.storage.put("big/one-part.bin", chunks(PART))
    assert "UploadId" not in receipt.raw
    assert boto.head_object(Bucket=BUCKET, Key="big/one-part.bin")["ContentLength"] == PART
    empty = await hub.storage.put("big/empty.bin", b"")
    assert empty.size == 0
    assert await hub.storage.get("big/empty.bin") == b""
    for key in ("big/one-part.bin", "big/empty.bin"):
        await hub.storage.delete(key)


async def test_a_broken_source_aborts_the_multipart_upload(
    s3_hub: Callable[..., Hub], boto: Any
) -> None:
    hub = s3_hub(part_size=PART)
    with pytest.raises(RuntimeError, match="the source broke"):
        await hub.storage.put("big/broken.bin", chunks(20 * MIB, fail_after=11 * MIB))
    assert open_uploads(boto) == [], "the parts already sent must be aborted"
    with pytest.raises(NotFound):
        await hub.storage.head("big/broken.bin")


async def test_a_failed_part_aborts_the_upload(s3_hub: Callable[..., Hub], boto: Any) -> None:
    hub = s3_hub(part_size=PART)
    client = await s3_client(hub)
    third_fails = Hook(
        lambda n: (
            s3_error(500, "InternalError", "We encountered an internal error.") if n == 3 else None
        )
    )
    undo = hook(client, "UploadPart", third_fails)
    try:
        with pytest.raises(Unavailable) as caught:
            await hub.storage.put("big/part-fails.bin", chunks(20 * MIB))
    finally:
        undo()
    assert caught.value.vendor_code == "InternalError"
    assert caught.value.retryable is False, "a consumed stream cannot be sent again"
    assert open_uploads(boto) == []


async def test_cancelling_an_upload_aborts_it(s3_hub: Callable[..., Hub], boto: Any) -> None:
    hub = s3_hub(part_size=PART)
    two_parts_sent = anyio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        async for piece in chunks(11 * MIB):
            yield piece
        two_parts_sent.set()
        await anyio.sleep_forever()
        yield b""  # pragma: no cover

    async with anyio.create_task_group() as group:
        group.start_soon(hub.storage.put, "big/cancelled.bin", stalls())
        await two_parts_sent.wait()
        await anyio.sleep(0.5)  # let the parts reach moto
        group.cancel_scope.cancel()
    assert open_uploads(boto) == [], "a cancelled upload must not leave parts behind"


async def test_ranged_reads(s3_hub: Callable[..., Hub]) -> None:
    hub = s3_hub()
    data = bytes(range(256)) * 4
    await hub.storage.put("range.bin", data)
    client = await s3_client(hub)
    gets = Hook()
    undo = hook(client, "GetObject", gets)
    try:
        part = b"".join([c async for c in hub.storage.stream("range.bin", byte_range=(10, 20))])
        past_end = [c async for c in hub.storage.stream("range.bin", byte_range=(5000, 6000))]
        empty = [c async for c in hub.storage.stream("range.bin", byte_range=(7, 7))]
        clipped = b"".join(
            [c async for c in hub.storage.stream("range.bin", byte_range=(1000, 2000))]
        )
    finally:
        undo()
    assert part == data[10:20]
    assert past_end == []
    assert empty == []
    assert clipped == data[1000:]
    with pytest.raises(NotFound):
        async for _ in hub.storage.stream("missing.bin", byte_range=(0, 0)):
            pass
    await hub.storage.delete("range.bin")


async def test_presigned_put_accepts_a_plain_httpx_upload(s3_hub: Callable[..., Hub]) -> None:
    hub = s3_hub()
    put_url = await hub.storage.url("shared/upload.txt", expires_in=300, method="PUT")
    assert "X-Amz-Signature=" in put_url
    assert "X-Amz-Expires=300" in put_url
    async with httpx.AsyncClient() as plain:
        answer = await plain.put(put_url, content=b"uploaded by a browser")
        assert answer.status_code == 200, answer.text
        get_url = await hub.storage.url("shared/upload.txt", expires_in=300)
        fetched = await plain.get(get_url)
    assert fetched.status_code == 200
    assert fetched.content == b"uploaded by a browser"
    assert await hub.storage.get("shared/upload.txt") == b"uploaded by a browser"
    await hub.storage.delete("shared/upload.txt")


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("path", "https://minio.example.test:9000/hub-test/a/b.txt?"),
        ("virtual", "https://hub-test.minio.example.test:9000/a/b.txt?"),
    ],
)
async def test_addressing_style_shapes_the_url(
    s3_hub: Callable[..., Hub], style: str, expected: str
) -> None:
    """S3-compatible stores by settings alone; signing a URL sends nothing anywhere."""
    hub = s3_hub(endpoint_url="https://minio.example.test:9000", addressing_style=style)
    assert (await hub.storage.url("a/b.txt")).startswith(expected)


async def test_server_side_encryption(s3_hub: Callable[..., Hub], boto: Any) -> None:
    hub = s3_hub(part_size=PART, server_side_encryption="AES256")
    await hub.storage.put("sse/aes.txt", b"secret")
    await hub.storage.put("sse/aes-parts.bin", chunks(6 * MIB))
    for key in ("sse/aes.txt", "sse/aes-parts.bin"):
        assert boto.head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "AES256"
    kms = s3_hub(server_side_encryption="aws:kms", sse_kms_key_id="alias/hub-test")
    await kms.storage.put("sse/kms.txt", b"secret")
    stored = boto.head_object(Bucket=BUCKET, Key="sse/kms.txt")
    assert stored["ServerSideEncryption"] == "aws:kms"
    assert stored["SSEKMSKeyId"].endswith("alias/hub-test")
    for key in ("sse/aes.txt", "sse/aes-parts.bin", "sse/kms.txt"):
        await hub.storage.delete(key)


async def test_listing_follows_continuation_tokens(s3_hub: Callable[..., Hub]) -> None:
    hub = s3_hub(list_page_size=5)
    keys = [f"paged/{n:02d}.txt" for n in range(12)]
    for key in keys:
        await hub.storage.put(key, key.encode())
    client = await s3_client(hub)
    pages = Hook()
    undo = hook(client, "ListObjectsV2", pages)
    try:
        listed = [info async for info in hub.storage.list("paged/")]
    finally:
        undo()
    assert [i.key for i in listed] == keys
    assert pages.calls == 3, "12 keys at 5 a page"
    assert "continuation-token" in pages.params[1]
    assert all(i.size == len(i.key) and i.etag for i in listed)
    for key in keys:
        await hub.storage.delete(key)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"bucket": "Not_A_Bucket"}, "bucket"),
        ({"sse_kms_key_id": "alias/x"}, "aws:kms"),
        ({"part_size": MIB}, "part_size"),
    ],
)
async def test_bad_settings_are_configuration_errors(
    s3_hub: Callable[..., Hub], extra: dict[str, Any], needle: str
) -> None:
    hub = s3_hub(**extra)
    with pytest.raises(ConfigurationError, match=needle):
        _ = hub.storage


@pytest.mark.slow
async def test_200_mb_streams_through_in_constant_memory(s3_hub: Callable[..., Hub]) -> None:
    """200 MB into moto and back, hashed on the way in and out, with under 32 MiB added RSS.

    moto runs in a child process (see conftest), so the meter sees only this process: the
    hub, aiobotocore and aiohttp. Parts of 5 MiB, two in memory at once (the defaults): 10 MiB
    of parts, the rest botocore's and aiohttp's 1 MiB and 256 KiB reads and allocator slack
    (measured: 14 MiB; 38 MiB when each part was copied twice and a third was cut ahead).
    """
    if not PeakMemory.available():
        pytest.skip("needs Linux /proc/self/clear_refs to measure peak memory")
    hub = s3_hub()
    await hub.storage.put("warm-up.txt", b"x")  # load botocore's S3 model before measuring
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
    assert memory.added_mib < 32, f"the round trip added {memory.added_mib:.0f} MiB of RSS"
    await hub.storage.delete("big/200mb.bin")
    await hub.storage.delete("warm-up.txt")
