"""The storage contract: streamed round trips, metadata, prefix listing, deletes, NotFound."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, ClassVar

import pytest

from hub.errors import InvalidRequest, NotFound
from hub.testing.conformance._base import ConformanceSuite, VendorCall

if TYPE_CHECKING:
    from hub.core import Hub

__all__ = ["StorageConformance"]

_CHUNK = 64 * 1024
_MEBIBYTE = 1024 * 1024


def _chunk(index: int) -> bytes:
    """64 KiB of deterministic, incompressible-looking bytes."""
    return hashlib.sha256(f"hub-conformance-{index}".encode()).digest() * (_CHUNK // 32)


class StorageConformance(ConformanceSuite):
    """Subclass with ``provider = "<name>"``. Every key lives under :attr:`prefix`, and each
    check deletes what it stored, so a real bucket is left as it was found."""

    capability = "storage"
    prefix: ClassVar[str] = "hub-conformance/"
    #: The size of the streamed round trip.
    stream_megabytes: ClassVar[int] = 5

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    async def cleanup(self, hub: Hub, *names: str) -> None:
        for name in names:
            await hub.storage.delete(self.key(name))

    async def test_streamed_round_trip(self, provider_hub: Hub) -> None:
        count = self.stream_megabytes * _MEBIBYTE // _CHUNK
        sent = hashlib.sha256()

        async def upload() -> AsyncIterator[bytes]:
            for index in range(count):
                chunk = _chunk(index)
                sent.update(chunk)
                yield chunk

        key = self.key("round-trip.bin")
        try:
            receipt = await provider_hub.storage.put(
                key, upload(), content_type="application/octet-stream"
            )
            assert receipt.provider == self.provider, receipt
            assert receipt.key == key, receipt
            assert receipt.etag, receipt
            assert receipt.size == count * _CHUNK, (
                f"stored {receipt.size} of {count * _CHUNK} bytes"
            )
            assert receipt.checksum == sent.hexdigest()
            received, size, chunks = hashlib.sha256(), 0, 0
            async for chunk in provider_hub.storage.stream(key, chunk_size=_CHUNK):
                received.update(chunk)
                size += len(chunk)
                chunks += 1
            assert size == count * _CHUNK, f"read back {size} bytes of {count * _CHUNK}"
            assert received.hexdigest() == sent.hexdigest(), "the bytes read back differ"
            assert chunks > 1, "a large object must come back in chunks, not in one piece"
        finally:
            await provider_hub.storage.delete(key)

    async def test_content_type_and_metadata_are_kept(self, provider_hub: Hub) -> None:
        metadata = {"customer-id": "42", "source": "conformance"}
        has_metadata = "metadata" in self.features(provider_hub)
        key = self.key("report.csv")
        body = b"id,total\n1,19.99\n"
        try:
            receipt = await provider_hub.storage.put(
                key,
                body,
                content_type="text/csv",
                metadata=metadata if has_metadata else None,
            )
            assert receipt.size == len(body), receipt
            assert receipt.content_type == "text/csv", receipt
            info = await provider_hub.storage.head(key)
            assert info.key == key, info
            assert info.size == len(body), info
            assert info.provider == self.provider, info
            assert info.content_type.split(";")[0].strip() == "text/csv", info.content_type
            assert info.etag, info
            if has_metadata:
                assert info.metadata == metadata, f"metadata came back as {info.metadata}"
            assert await provider_hub.storage.get(key) == body
        finally:
            await provider_hub.storage.delete(key)

    async def test_text_is_stored_as_utf8(self, provider_hub: Hub) -> None:
        key = self.key("notes/grüße.txt")
        try:
            await provider_hub.storage.put(key, "Grüße, 世界")
            assert await provider_hub.storage.get(key) == "Grüße, 世界".encode()
            info = await provider_hub.storage.head(key)
            assert info.content_type.startswith("text/plain"), info.content_type
        finally:
            await provider_hub.storage.delete(key)

    async def test_put_replaces_an_object(self, provider_hub: Hub) -> None:
        key = self.key("replaced.txt")
        try:
            await provider_hub.storage.put(key, b"first version")
            await provider_hub.storage.put(key, b"second")
            assert await provider_hub.storage.get(key) == b"second"
            assert (await provider_hub.storage.head(key)).size == len(b"second")
        finally:
            await provider_hub.storage.delete(key)

    async def test_prefix_listing(self, provider_hub: Hub) -> None:
        names = [f"list/a/{n:02d}.txt" for n in range(12)] + [
            "list/ab.txt",
            "list/b/1.txt",
            "other.txt",
        ]
        try:
            for name in names:
                await provider_hub.storage.put(self.key(name), name.encode())
            under_a = [self.key(f"list/a/{n:02d}.txt") for n in range(12)]
            assert await provider_hub.storage.keys(self.key("list/a/")) == under_a
            listed = [info async for info in provider_hub.storage.list(self.key("list/a"))]
            assert [i.key for i in listed] == [*under_a, self.key("list/ab.txt")], (
                "a prefix is a string prefix, not a directory, and keys come back sorted"
            )
            for info in listed:
                assert info.size == len(info.key.removeprefix(self.prefix)), info
                assert info.provider == self.provider, info
            assert await provider_hub.storage.keys(self.key("list/zzz")) == []
        finally:
            await self.cleanup(provider_hub, *names)

    async def test_delete_is_idempotent(self, provider_hub: Hub) -> None:
        key = self.key("deleted.txt")
        await provider_hub.storage.put(key, b"short-lived")
        await provider_hub.storage.delete(key)
        with pytest.raises(NotFound):
            await provider_hub.storage.head(key)
        await provider_hub.storage.delete(key)  # again: not an error
        await provider_hub.storage.delete(self.key("never-existed.txt"))

    async def test_missing_object_is_not_found(self, provider_hub: Hub) -> None:
        key = self.key("missing/object.bin")
        with pytest.raises(NotFound) as caught:
            await provider_hub.storage.get(key)
        assert caught.value.provider == self.provider
        with pytest.raises(NotFound):
            await provider_hub.storage.head(key)
        with pytest.raises(NotFound):
            async for _ in provider_hub.storage.stream(key):
                pass

    async def test_ranged_read(self, provider_hub: Hub) -> None:
        self.require(provider_hub, "ranged_reads")
        key = self.key("range.bin")
        data = bytes(range(256)) * 4
        try:
            await provider_hub.storage.put(key, data)
            part = b"".join(
                [c async for c in provider_hub.storage.stream(key, byte_range=(100, 300))]
            )
            assert part == data[100:300]
        finally:
            await provider_hub.storage.delete(key)

    @pytest.mark.parametrize(
        "key",
        ["", "/absolute", "a/../b", "a//b", "trailing/", "back\\slash", "nul\x00char"],
        ids=["empty", "absolute", "dotdot", "double-slash", "trailing-slash", "backslash", "nul"],
    )
    async def test_invalid_keys_raise_invalid_request(self, provider_hub: Hub, key: str) -> None:
        with pytest.raises(InvalidRequest):
            await provider_hub.storage.put(key, b"x")

    async def prepare_vendor_call(self, hub: Hub) -> VendorCall:
        key = self.key("vendor-error.txt")
        await hub.storage.put(key, b"present")
        return lambda: hub.storage.head(key)

    async def after_vendor_call(self, hub: Hub) -> None:
        await hub.storage.delete(self.key("vendor-error.txt"))
