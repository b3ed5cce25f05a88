"""Parts that grow with the part count, so that any object up to S3's 5 TiB fits in 10,000."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import hub_s3.upload as s3_upload
import pytest

from hub import Hub
from hub.errors import InvalidRequest, NotFound
from tests.plugins.s3.conftest import BUCKET, open_uploads, s3_client
from tests.plugins.storage._support import MIB

GIB = 1024 * MIB
TIB = 1024 * GIB
SMALLEST, LARGEST = 5 * MIB, 5 * GIB  # S3's bounds for every part but the last


@pytest.mark.parametrize("part_size", [SMALLEST, 8 * MIB, 100 * MIB, LARGEST])
def test_10_000_parts_hold_5_tib_within_s3_part_bounds(part_size: int) -> None:
    sizes = [s3_upload.part_size_at(n, part_size) for n in range(1, 10_001)]
    assert sizes[:1000] == [part_size] * 1000, "objects up to part_size x 1,000 keep part_size"
    assert sizes == sorted(sizes), "a part is never smaller than the one before"
    assert all(SMALLEST <= size <= LARGEST for size in sizes)
    assert sum(sizes) >= 5 * TIB


def test_the_documented_schedule() -> None:
    """Parts 1-1,000 at part_size, then doubled every 900 parts, up to 5 GiB; a grown part is
    under a 500th of the bytes before it (what bounds memory for big objects)."""
    sizes = {
        n: s3_upload.part_size_at(n, SMALLEST) for n in (1000, 1001, 1900, 1901, 2800, 2801, 9101)
    }
    assert sizes == {
        1000: SMALLEST,
        1001: 2 * SMALLEST,
        1900: 2 * SMALLEST,
        1901: 4 * SMALLEST,
        2800: 4 * SMALLEST,
        2801: 8 * SMALLEST,
        9101: LARGEST,
    }
    assert s3_upload.part_size_at(10_000_000, SMALLEST) == LARGEST
    sent = 0
    for number in range(1, 10_001):
        size = s3_upload.part_size_at(number, SMALLEST)
        if number > 1000:
            assert size * 500 <= sent
        sent += size


async def chunks(size: int, pulled: list[int] | None = None) -> AsyncIterator[bytes]:
    """``size`` bytes in 1 MiB chunks that differ, counting what was pulled."""
    sent = 0
    while sent < size:
        piece = bytes([sent // MIB % 251]) * min(MIB, size - sent)
        sent += len(piece)
        if pulled is not None:
            pulled.append(sent)
        yield piece


@pytest.mark.anyio
async def test_parts_grow_through_the_real_upload(
    s3_hub: Callable[..., Hub], boto: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With growth after 2 parts, every 2 parts: 5, 5, 10, 10, 20 MiB and the 1 MiB left,
    stored as sent, from ``upload_concurrency`` buffers reused as they grow."""
    monkeypatch.setattr(s3_upload, "GROWTH_AFTER", 2)
    monkeypatch.setattr(s3_upload, "DOUBLE_EVERY", 2)
    hub = s3_hub(part_size=SMALLEST, upload_concurrency=2)
    client = await s3_client(hub)
    bodies: list[object] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        bodies.append(params["Body"])

    event = "before-parameter-build.s3.UploadPart"
    client.meta.events.register(event, record)
    try:
        receipt = await hub.storage.put("grow/parts.bin", chunks(51 * MIB))
    finally:
        client.meta.events.unregister(event, record)
    expected_mib = [5, 5, 10, 10, 20, 1]
    assert receipt.raw["Parts"] == len(expected_mib)
    stored = [
        boto.head_object(Bucket=BUCKET, Key="grow/parts.bin", PartNumber=n)
        for n in range(1, len(expected_mib) + 1)
    ]
    assert [s["ContentLength"] // MIB for s in stored] == expected_mib
    assert stored[0]["PartsCount"] == len(expected_mib)
    sent = b"".join([c async for c in chunks(51 * MIB)])
    assert await hub.storage.get("grow/parts.bin") == sent
    assert receipt.checksum == hashlib.sha256(sent).hexdigest()
    assert len(bodies) == len(expected_mib)
    assert len({id(body) for body in bodies}) == 2, "two buffers, reused part after part"
    assert open_uploads(boto) == []
    await hub.storage.delete("grow/parts.bin")


@pytest.mark.anyio
async def test_an_object_over_s3s_limit_fails_as_soon_as_it_is_over(
    s3_hub: Callable[..., Hub], boto: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No 5 TiB through moto: the limit is lowered to 12 MiB, and the upload must stop at the
    chunk that crosses it, abort, and say why."""
    monkeypatch.setattr(s3_upload, "MAX_OBJECT_SIZE", 12 * MIB)
    hub = s3_hub(part_size=SMALLEST)
    pulled: list[int] = []
    with pytest.raises(InvalidRequest, match=r"over S3's limit of .* TiB per object") as caught:
        await hub.storage.put("grow/too-big.bin", chunks(40 * MIB, pulled))
    assert caught.value.field == "data"
    assert pulled[-1] == 13 * MIB, "the source is read no further than the chunk past the limit"
    assert open_uploads(boto) == []
    with pytest.raises(NotFound):
        await hub.storage.head("grow/too-big.bin")
