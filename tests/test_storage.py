"""hub.storage: every scenario on the local (files) and the fake (memory) provider."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
import pytest

import hub
from hub.capabilities.storage import validate_key
from hub.errors import InvalidRequest, NotFound, Unavailable, UnsupportedFeature
from hub.providers.fake.storage import FakeStorageProvider
from hub.providers.local.storage import LocalStorageProvider

FIVE_MB = 5 * 1024 * 1024


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["local", "fake"])
async def storage_hub(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[hub.Hub]:
    if request.param == "local":
        settings: dict[str, Any] = {"env": "development", "data_dir": tmp_path / ".hub"}
    else:
        settings = {"env": "test"}
    async with hub.Hub.from_settings(**settings) as h:
        assert h.storage.providers == [request.param]
        yield h


def local_of(h: hub.Hub) -> LocalStorageProvider:
    provider = h.storage.provider
    assert isinstance(provider, LocalStorageProvider)
    return provider


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """A deterministic body of ``total`` bytes, produced chunk by chunk."""
    for offset in range(0, total, size):
        yield bytes((offset + i) % 251 for i in range(min(size, total - offset)))


def body(total: int) -> bytes:
    return bytes(i % 251 for i in range(total))


def assert_no_uploads_in_flight(h: hub.Hub) -> None:
    """The local provider's temp files are gone (the fake buffers in memory)."""
    if isinstance(h.storage.provider, LocalStorageProvider):
        assert list((h.storage.provider.root / "tmp").iterdir()) == []


async def keys_of(h: hub.Hub, prefix: str = "") -> list[str]:
    return [info.key async for info in h.storage.list(prefix)]


# -- round trips ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_bytes_round_trip(storage_hub: hub.Hub) -> None:
    receipt = await storage_hub.storage.put("invoices/2024/1.pdf", b"%PDF-1.7 hello")

    assert await storage_hub.storage.get("invoices/2024/1.pdf") == b"%PDF-1.7 hello"
    assert receipt.key == "invoices/2024/1.pdf"
    assert receipt.size == 14
    assert receipt.checksum == hashlib.sha256(b"%PDF-1.7 hello").hexdigest()
    assert receipt.etag
    assert receipt.provider == storage_hub.storage.providers[0]


@pytest.mark.anyio
async def test_text_is_stored_as_utf8(storage_hub: hub.Hub) -> None:
    await storage_hub.storage.put("notes/hello", "grüße")

    assert await storage_hub.storage.get("notes/hello") == "grüße".encode()
    info = await storage_hub.storage.head("notes/hello")
    assert info.content_type == "text/plain; charset=utf-8"


@pytest.mark.anyio
async def test_overwrite_replaces_the_object(storage_hub: hub.Hub) -> None:
    await storage_hub.storage.put("a.txt", b"first version")
    await storage_hub.storage.put("a.txt", b"second")

    assert await storage_hub.storage.get("a.txt") == b"second"
    assert (await storage_hub.storage.head("a.txt")).size == 6


@pytest.mark.anyio
async def test_five_mb_from_an_async_generator_streams_back(storage_hub: hub.Hub) -> None:
    receipt = await storage_hub.storage.put("big/blob.bin", chunks(FIVE_MB))

    assert receipt.size == FIVE_MB
    assert receipt.checksum == hashlib.sha256(body(FIVE_MB)).hexdigest()
    received = [c async for c in storage_hub.storage.stream("big/blob.bin", chunk_size=1 << 20)]
    assert len(received) == 5
    assert all(len(c) <= 1 << 20 for c in received)
    assert b"".join(received) == body(FIVE_MB)


@pytest.mark.anyio
async def test_five_mb_from_a_path_is_streamed_in_chunks(
    storage_hub: hub.Hub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "upload.bin"
    source.write_bytes(body(FIVE_MB))
    provider = storage_hub.storage.provider
    real_put = provider.put
    seen: list[int] = []

    async def spy(key: str, data: AsyncIterator[bytes], **kwargs: Any) -> Any:
        async def counted() -> AsyncIterator[bytes]:
            async for chunk in data:
                seen.append(len(chunk))
                yield chunk

        return await real_put(key, counted(), **kwargs)

    monkeypatch.setattr(provider, "put", spy)
    receipt = await storage_hub.storage.put("big/from-disk.bin", source)

    assert receipt.size == FIVE_MB
    assert len(seen) == FIVE_MB // (64 * 1024), "a path must be read in chunks, never whole"
    assert max(seen) == 64 * 1024
    target = tmp_path / "out" / "copy.bin"
    target.parent.mkdir()
    assert await storage_hub.storage.download("big/from-disk.bin", target) == target
    assert target.read_bytes() == source.read_bytes()
    assert os.listdir(target.parent) == ["copy.bin"]


@pytest.mark.anyio
async def test_ranged_read(storage_hub: hub.Hub) -> None:
    await storage_hub.storage.put("r.bin", body(1000))

    got = [c async for c in storage_hub.storage.stream("r.bin", 7, byte_range=(10, 40))]
    assert b"".join(got) == body(1000)[10:40]
    tail = b"".join([c async for c in storage_hub.storage.stream("r.bin", byte_range=(990, 5000))])
    assert tail == body(1000)[990:]
    with pytest.raises(InvalidRequest, match="byte_range"):
        async for _ in storage_hub.storage.stream("r.bin", byte_range=(5, 2)):
            pass


@pytest.mark.anyio
async def test_empty_object(storage_hub: hub.Hub) -> None:
    await storage_hub.storage.put("empty", b"")

    assert await storage_hub.storage.get("empty") == b""
    assert (await storage_hub.storage.head("empty")).size == 0


# -- metadata, content type, head -----------------------------------------------------------


@pytest.mark.anyio
async def test_metadata_and_content_type(storage_hub: hub.Hub) -> None:
    await storage_hub.storage.put(
        "reports/q1.pdf", b"%PDF", metadata={"customer-id": "42", "source": "import job"}
    )
    await storage_hub.storage.put("data/x.bin", b"{}", content_type="application/json")
    await storage_hub.storage.put("data/unknown", b"\x00\x01")

    info = await storage_hub.storage.head("reports/q1.pdf")
    assert info.content_type == "application/pdf"
    assert info.metadata == {"customer-id": "42", "source": "import job"}
    assert info.size == 4
    assert info.etag
    assert info.last_modified.tzinfo is not None
    assert (await storage_hub.storage.head("data/x.bin")).content_type == "application/json"
    unknown = await storage_hub.storage.head("data/unknown")
    assert unknown.content_type == "application/octet-stream"
    assert unknown.metadata == {}


@pytest.mark.anyio
@pytest.mark.parametrize(
    "metadata",
    [
        {"Customer": "1"},
        {"bad key": "1"},
        {"k": "naïve"},
        {"k": "line\nbreak"},
        {"k": 1},
        {"k": "x" * 3000},
    ],
)
async def test_unsafe_metadata_is_refused(storage_hub: hub.Hub, metadata: Any) -> None:
    with pytest.raises(InvalidRequest, match="metadata"):
        await storage_hub.storage.put("m.txt", b"x", metadata=metadata)
    with pytest.raises(NotFound):
        await storage_hub.storage.head("m.txt")


@pytest.mark.anyio
async def test_bad_content_type_is_refused(storage_hub: hub.Hub) -> None:
    with pytest.raises(InvalidRequest, match="media type"):
        await storage_hub.storage.put("a.txt", b"x", content_type="text/plain\r\nX-Evil: 1")


# -- listing and deleting -------------------------------------------------------------------


@pytest.mark.anyio
async def test_prefix_listing_is_sorted_and_exact(storage_hub: hub.Hub) -> None:
    for key in ["b/1", "a/2", "ab", "a/b/3", "a/1"]:
        await storage_hub.storage.put(key, key.encode())

    assert await keys_of(storage_hub, "a/") == ["a/1", "a/2", "a/b/3"]
    assert await keys_of(storage_hub, "a") == ["a/1", "a/2", "a/b/3", "ab"]
    assert await keys_of(storage_hub, "a/b") == ["a/b/3"]
    assert await keys_of(storage_hub) == ["a/1", "a/2", "a/b/3", "ab", "b/1"]
    assert await keys_of(storage_hub, "zzz/") == []
    infos = [info async for info in storage_hub.storage.list("b/")]
    assert [(i.key, i.size) for i in infos] == [("b/1", 3)]


@pytest.mark.anyio
async def test_listing_pages_through_many_objects(storage_hub: hub.Hub) -> None:
    names = [f"many/{i:04d}.txt" for i in range(250)]
    for name in reversed(names):
        await storage_hub.storage.put(name, b".")

    assert await storage_hub.storage.keys("many/") == names


@pytest.mark.anyio
async def test_delete_is_idempotent(storage_hub: hub.Hub) -> None:
    await storage_hub.storage.put("tmp/x.txt", b"x")

    await storage_hub.storage.delete("tmp/x.txt")
    await storage_hub.storage.delete("tmp/x.txt")
    await storage_hub.storage.delete("never/existed")

    with pytest.raises(NotFound):
        await storage_hub.storage.head("tmp/x.txt")
    assert await keys_of(storage_hub) == []


@pytest.mark.anyio
async def test_missing_object_is_not_found(storage_hub: hub.Hub, tmp_path: Path) -> None:
    name = storage_hub.storage.providers[0]
    with pytest.raises(NotFound) as caught:
        await storage_hub.storage.get("nope.txt")
    assert caught.value.provider == name
    assert "nope.txt" in str(caught.value)
    with pytest.raises(NotFound):
        await storage_hub.storage.head("nope.txt")
    target = tmp_path / "nope.txt"
    with pytest.raises(NotFound):
        await storage_hub.storage.download("nope.txt", target)
    assert not target.exists()
    assert [
        p.name async for p in anyio.Path(tmp_path).iterdir() if p.name.startswith(".nope")
    ] == []


# -- keys -----------------------------------------------------------------------------------

BAD_KEYS = [
    "../etc/passwd",
    "/abs",
    "a/../b",
    "",
    "a\x00b",
    "a\\b",
    "a//b",
    "a/",
    "./a",
    "tab\there",
    "é" * 513,
]


@pytest.mark.anyio
@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_keys_are_refused(storage_hub: hub.Hub, key: str) -> None:
    with pytest.raises(InvalidRequest, match=r"invoices/2024/1\.pdf|longer than") as caught:
        await storage_hub.storage.put(key, b"x")
    assert caught.value.field == "key"
    for call in (storage_hub.storage.get, storage_hub.storage.head, storage_hub.storage.delete):
        with pytest.raises(InvalidRequest):
            await call(key)
    assert await keys_of(storage_hub) == []


def test_good_keys_pass() -> None:
    for key in ["a", "invoices/2024/1.pdf", ".hidden", "a/.b/c..d", "é" * 512, "sp ace/x"]:
        assert validate_key(key) == key


@pytest.mark.anyio
async def test_local_keys_cannot_escape_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    async with hub.Hub.from_settings(env="development", data_dir=tmp_path / ".hub") as h:
        local = local_of(h)
        # The provider checks keys itself, whoever calls it...
        with pytest.raises(InvalidRequest):
            await local.put("../../outside/evil", chunks(10), content_type="x/y", metadata={})
        # ...and resolves paths, so a symlink inside the root cannot lead out of it.
        objects = local.root / "objects"
        objects.mkdir(parents=True)
        (objects / "link").symlink_to(outside, target_is_directory=True)
        with pytest.raises(InvalidRequest, match="outside the storage root"):
            await h.storage.put("link/evil", b"x")
        with pytest.raises(InvalidRequest, match="outside the storage root"):
            await h.storage.get("link/evil")
    assert list(outside.iterdir()) == []


@pytest.mark.anyio
async def test_local_file_and_folder_keys_conflict_clearly(tmp_path: Path) -> None:
    async with hub.Hub.from_settings(env="development", data_dir=tmp_path) as h:
        await h.storage.put("a", b"file")
        with pytest.raises(InvalidRequest, match="collides"):
            await h.storage.put("a/b", b"nested")
        assert await h.storage.get("a") == b"file"


# -- failures leave nothing behind ----------------------------------------------------------


async def breaks_midway() -> AsyncIterator[bytes]:
    yield b"x" * (1 << 20)
    yield b"y" * (1 << 20)
    raise RuntimeError("the source broke")


@pytest.mark.anyio
async def test_failed_streaming_put_leaves_no_partial_object(storage_hub: hub.Hub) -> None:
    await storage_hub.storage.put("keep/old.bin", b"old version")

    with pytest.raises(RuntimeError, match="the source broke"):
        await storage_hub.storage.put("half.bin", breaks_midway())
    with pytest.raises(RuntimeError, match="the source broke"):
        await storage_hub.storage.put("keep/old.bin", breaks_midway())

    with pytest.raises(NotFound):
        await storage_hub.storage.head("half.bin")
    assert await storage_hub.storage.get("keep/old.bin") == b"old version"
    assert await keys_of(storage_hub) == ["keep/old.bin"]
    assert_no_uploads_in_flight(storage_hub)


@pytest.mark.anyio
async def test_cancelled_put_leaves_no_partial_object(storage_hub: hub.Hub) -> None:
    async def slow() -> AsyncIterator[bytes]:
        yield b"x" * 1000
        await anyio.sleep(10)
        yield b"never"

    with anyio.move_on_after(0.2) as scope:
        await storage_hub.storage.put("slow.bin", slow())
    assert scope.cancelled_caught
    with pytest.raises(NotFound):
        await storage_hub.storage.head("slow.bin")
    assert_no_uploads_in_flight(storage_hub)


@pytest.mark.anyio
async def test_non_bytes_chunks_are_refused(storage_hub: hub.Hub) -> None:
    async def text_chunks() -> AsyncIterator[Any]:
        yield "not bytes"

    with pytest.raises(InvalidRequest, match="yield bytes"):
        await storage_hub.storage.put("t.txt", text_chunks())
    with pytest.raises(InvalidRequest, match="async iterable of bytes"):
        await storage_hub.storage.put("t.txt", 42)  # type: ignore[arg-type]


# -- URLs -----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_local_url_is_a_file_url_to_the_object(tmp_path: Path) -> None:
    async with hub.Hub.from_settings(env="development", data_dir=tmp_path) as h:
        await h.storage.put("img/logo.png", b"\x89PNG")
        url = await h.storage.url("img/logo.png")
        assert url.startswith("file://")
        assert await anyio.Path(unquote(urlsplit(url).path)).read_bytes() == b"\x89PNG"
        with pytest.raises(UnsupportedFeature, match="presigned_put"):
            await h.storage.url("img/logo.png", method="PUT")


@pytest.mark.anyio
async def test_fake_urls_are_signed_and_expire() -> None:
    async with hub.Hub.from_settings(env="test") as h:
        fake = h.storage.provider
        assert isinstance(fake, FakeStorageProvider)
        get_url = await h.storage.url("docs/a b.pdf", expires_in=60)
        put_url = await h.storage.url("docs/new.pdf", method="PUT")
        assert fake.verify_url(get_url) == ("GET", "docs/a b.pdf")
        assert fake.verify_url(put_url) == ("PUT", "docs/new.pdf")
        with pytest.raises(InvalidRequest, match="signature"):
            fake.verify_url(get_url.replace("method=GET", "method=PUT"))
        with pytest.raises(InvalidRequest, match="expires_in"):
            await h.storage.url("docs/a.pdf", expires_in=0)
        with pytest.raises(InvalidRequest, match="expires_in"):
            await h.storage.url("docs/a.pdf", expires_in=8 * 24 * 3600)


@pytest.mark.anyio
async def test_fake_faults_surface_on_stream_opening() -> None:
    async with hub.Hub.from_settings(env="test") as h:
        fake = h.storage.provider
        assert isinstance(fake, FakeStorageProvider)
        await h.storage.put("x", b"data")
        fake.fail_next(1, NotFound("gone", provider="fake"))
        with pytest.raises(NotFound, match="gone"):
            await h.storage.get("x")
        assert await h.storage.get("x") == b"data"


@pytest.mark.anyio
async def test_retries_replay_bytes_but_never_a_half_read_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with hub.Hub.from_settings(env="test") as h:
        fake = h.storage.provider
        assert isinstance(fake, FakeStorageProvider)
        await h.storage.put("x", b"data")
        fake.fail_next(1)  # a retryable Unavailable: reads are retried
        assert await h.storage.get("x") == b"data"

        real_put = fake.put
        drops: list[int] = []
        attempts: list[str] = []

        async def drops_mid_upload(key: str, data: AsyncIterator[bytes], **kwargs: Any) -> Any:
            attempts.append(key)
            if drops:
                drops.pop()
                await anext(data)
                raise Unavailable("connection dropped mid-upload", provider="fake")
            return await real_put(key, data, **kwargs)

        monkeypatch.setattr(fake, "put", drops_mid_upload)
        drops.append(1)
        receipt = await h.storage.put("replayable.bin", b"abc")
        assert receipt.size == 3
        assert attempts == ["replayable.bin", "replayable.bin"]

        drops.append(1)
        with pytest.raises(Unavailable, match="mid-upload"):
            await h.storage.put("one-shot.bin", chunks(1000, 100))
        assert attempts[2:] == ["one-shot.bin"], "a half-read stream cannot be sent again"
        with pytest.raises(NotFound):
            await h.storage.head("one-shot.bin")
