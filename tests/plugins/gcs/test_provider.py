"""Storing through the GCS JSON API: exactly what goes over the wire, and Google's answers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import cast

import anyio
import httpx
import pytest

from hub import Hub
from hub.errors import AuthenticationError, HubError, NotFound, RateLimited, Unavailable
from tests.plugins.gcs._fake import KIB256, FakeGcs, google_error
from tests.plugins.gcs.conftest import BUCKET

pytestmark = pytest.mark.anyio


async def chunks(size: int, *, fail_after: int | None = None) -> AsyncIterator[bytes]:
    sent = 0
    while sent < size:
        if fail_after is not None and sent >= fail_after:
            raise RuntimeError("the source broke")
        piece = bytes([sent // 1000 % 256]) * min(100_000, size - sent)
        sent += len(piece)
        yield piece


def storage_requests(vendor: FakeGcs) -> list[httpx.Request]:
    return [r for r in vendor.requests if r.url.host == "storage.googleapis.com"]


async def test_a_small_object_is_one_multipart_upload(
    gcs_hub: Callable[..., Hub], vendor: FakeGcs
) -> None:
    hub = gcs_hub()
    receipt = await hub.storage.put(
        "docs/a b.csv", b"id\n1\n", content_type="text/csv", metadata={"customer-id": "42"}
    )
    token_request, upload = vendor.requests
    assert str(token_request.url) == "https://oauth2.googleapis.com/token"
    assert upload.method == "POST"
    assert upload.url.path == f"/upload/storage/v1/b/{BUCKET}/o"
    assert upload.url.params["uploadType"] == "multipart"
    assert upload.headers["authorization"].startswith("Bearer ya29.test-token-")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + upload.headers["content-type"].encode() + b"\r\n\r\n" + upload.content
    )
    meta, media = message.iter_parts()
    assert json.loads(cast(bytes, meta.get_payload(decode=True))) == {
        "name": "docs/a b.csv",
        "contentType": "text/csv",
        "metadata": {"customer-id": "42"},
    }
    assert media.get_content_type() == "text/csv"
    assert media.get_payload(decode=True) == b"id\n1\n"
    assert receipt.etag == vendor.objects["docs/a b.csv"].resource["etag"]
    assert receipt.provider_id == vendor.objects["docs/a b.csv"].resource["id"]
    info = await hub.storage.head("docs/a b.csv")
    assert info.metadata == {"customer-id": "42"}
    assert vendor.requests[-1].url.raw_path == (
        f"/storage/v1/b/{BUCKET}/o/docs%2Fa%20b.csv".encode()
    )


async def test_a_large_object_goes_through_a_resumable_session(
    gcs_hub: Callable[..., Hub], vendor: FakeGcs
) -> None:
    hub = gcs_hub(chunk_size=KIB256)
    size = 3 * KIB256 + 1000
    receipt = await hub.storage.put(
        "big/resumable.bin",
        chunks(size),
        content_type="application/x-test",
        metadata={"origin": "test"},
    )
    start, *puts = storage_requests(vendor)
    assert start.url.params["uploadType"] == "resumable"
    assert start.headers["x-upload-content-type"] == "application/x-test"
    assert json.loads(start.content) == {
        "name": "big/resumable.bin",
        "contentType": "application/x-test",
        "metadata": {"origin": "test"},
    }
    assert [p.headers["content-range"] for p in puts] == [
        f"bytes 0-{KIB256 - 1}/*",
        f"bytes {KIB256}-{2 * KIB256 - 1}/*",
        f"bytes {2 * KIB256}-{3 * KIB256 - 1}/*",
        f"bytes {3 * KIB256}-{size - 1}/{size}",
    ]
    assert all(p.url.params["upload_id"] for p in puts)
    data = b"".join([c async for c in chunks(size)])
    assert vendor.objects["big/resumable.bin"].data == data
    assert receipt.size == size
    assert receipt.checksum == hashlib.sha256(data).hexdigest()
    assert await hub.storage.get("big/resumable.bin") == data


async def test_bytes_google_did_not_persist_are_sent_again(
    gcs_hub: Callable[..., Hub], vendor: FakeGcs
) -> None:
    vendor.persist_less = True  # each chunk: 256 KiB less kept than sent
    hub = gcs_hub(chunk_size=2 * KIB256)
    size = 4 * KIB256 + 10
    await hub.storage.put("big/partial.bin", chunks(size))
    ranges = [r.headers["content-range"] for r in storage_requests(vendor)[1:]]
    assert ranges[:3] == [
        f"bytes 0-{2 * KIB256 - 1}/*",  # Google keeps the first 256 KiB of it
        f"bytes {KIB256}-{2 * KIB256 - 1}/*",  # so the rest goes again
        f"bytes {2 * KIB256}-{4 * KIB256 - 1}/*",
    ]
    assert vendor.objects["big/partial.bin"].data == b"".join([c async for c in chunks(size)])


async def test_a_broken_source_cancels_the_session(
    gcs_hub: Callable[..., Hub], vendor: FakeGcs
) -> None:
    hub = gcs_hub(chunk_size=KIB256)
    with pytest.raises(RuntimeError, match="the source broke"):
        await hub.storage.put("big/broken.bin", chunks(5 * KIB256, fail_after=2 * KIB256))
    assert len(vendor.cancelled) == 1, "the session is DELETEd"
    assert vendor.sessions == {}
    assert "big/broken.bin" not in vendor.objects


async def test_a_cancelled_upload_cancels_the_session(
    gcs_hub: Callable[..., Hub], vendor: FakeGcs
) -> None:
    hub = gcs_hub(chunk_size=KIB256)
    sent = anyio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        async for piece in chunks(2 * KIB256 + 1):
            yield piece
        sent.set()
        await anyio.sleep_forever()
        yield b""  # pragma: no cover

    async with anyio.create_task_group() as group:
        group.start_soon(hub.storage.put, "big/cancelled.bin", stalls())
        await sent.wait()
        group.cancel_scope.cancel()
    assert len(vendor.cancelled) == 1
    assert vendor.sessions == {}


async def test_the_token_is_cached_and_renewed_after_a_401(
    gcs_hub: Callable[..., Hub], vendor: FakeGcs
) -> None:
    hub = gcs_hub()
    await hub.storage.put("a.txt", b"a")
    await hub.storage.head("a.txt")
    await hub.storage.get("a.txt")
    tokens = [r for r in vendor.requests if r.url.host == "oauth2.googleapis.com"]
    assert len(tokens) == 1, "one token for every call within its hour"
    vendor.tokens.clear()  # Google revoked it
    with pytest.raises(AuthenticationError):
        await hub.storage.head("a.txt")
    assert (await hub.storage.head("a.txt")).size == 1, "the next call fetches a new token"
    assert len([r for r in vendor.requests if r.url.host == "oauth2.googleapis.com"]) == 2


async def test_a_refused_service_account_is_an_authentication_error(
    gcs_hub: Callable[..., Hub], vendor: FakeGcs
) -> None:
    vendor.fail(
        httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        )
    )
    with pytest.raises(AuthenticationError, match="hub-test@hub-test-project") as caught:
        await gcs_hub().storage.head("a.txt")
    assert caught.value.vendor_code == "invalid_grant"
    assert "PRIVATE KEY" not in str(caught.value.raw)


async def test_ranged_reads_and_streamed_downloads(
    gcs_hub: Callable[..., Hub], vendor: FakeGcs
) -> None:
    hub = gcs_hub()
    data = bytes(range(256)) * 40
    await hub.storage.put("range.bin", data)
    part = b"".join([c async for c in hub.storage.stream("range.bin", byte_range=(10, 20))])
    assert part == data[10:20]
    assert vendor.requests[-1].headers["range"] == "bytes=10-19"
    assert vendor.requests[-1].url.params["alt"] == "media"
    assert [c async for c in hub.storage.stream("range.bin", byte_range=(99_999, 100_000))] == []
    pieces = [c async for c in hub.storage.stream("range.bin", chunk_size=1000)]
    assert len(pieces) == 11
    assert b"".join(pieces) == data


async def test_listing_follows_page_tokens(gcs_hub: Callable[..., Hub], vendor: FakeGcs) -> None:
    hub = gcs_hub(list_page_size=5)
    keys = [f"paged/{n:02d}.txt" for n in range(12)]
    for key in keys:
        await hub.storage.put(key, key.encode(), metadata={"n": key[6:8]})
    vendor.requests.clear()
    listed = [info async for info in hub.storage.list("paged/")]
    assert [i.key for i in listed] == keys
    assert [i.metadata for i in listed] == [{"n": k[6:8]} for k in keys]
    pages = storage_requests(vendor)
    assert len(pages) == 3
    assert [p.url.params.get("pageToken") is not None for p in pages] == [False, True, True]
    assert all(p.url.params["prefix"] == "paged/" for p in pages)


@pytest.mark.parametrize(
    ("answer", "expected", "code"),
    [
        (google_error(404, "notFound", "No such object: b/a.txt"), NotFound, "notFound"),
        (
            google_error(403, "forbidden", "hub-test@... does not have storage.objects.get"),
            AuthenticationError,
            "forbidden",
        ),
        (
            google_error(429, "rateLimitExceeded", "The rate of change requests is too high."),
            RateLimited,
            "rateLimitExceeded",
        ),
        (
            google_error(403, "userRateLimitExceeded", "The user has exceeded the rate limit."),
            RateLimited,
            "userRateLimitExceeded",
        ),
        (google_error(503, "backendError", "Backend Error"), Unavailable, "backendError"),
    ],
)
async def test_documented_errors_map_to_the_error_tree(
    gcs_hub: Callable[..., Hub],
    vendor: FakeGcs,
    answer: httpx.Response,
    expected: type[HubError],
    code: str,
) -> None:
    hub = gcs_hub()
    await hub.storage.put("a.txt", b"a")  # holds the token
    vendor.fail(answer)
    with pytest.raises(HubError) as caught:
        await hub.storage.head("a.txt")
    assert type(caught.value) is expected
    assert getattr(caught.value, "vendor_code", None) == code


async def test_deleting_a_missing_object_is_not_an_error(
    gcs_hub: Callable[..., Hub], vendor: FakeGcs
) -> None:
    await gcs_hub().storage.delete("never-there.txt")
    assert vendor.requests[-1].method == "DELETE"


async def test_signed_urls_name_the_bucket_and_object(gcs_hub: Callable[..., Hub]) -> None:
    url = await gcs_hub().storage.url("shared/a.txt", expires_in=600, method="PUT")
    assert url.startswith(f"https://storage.googleapis.com/{BUCKET}/shared/a.txt?")
    assert "X-Goog-Expires=600" in url
    assert "X-Goog-Signature=" in url
