"""Fixtures for the S3 plugin: moto's S3 server in a child process on 127.0.0.1.

moto runs in its own process (not ThreadedMotoServer) so that the 200 MB streaming test
measures only this process's memory: moto keeps whole objects and parts in memory.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from hub import Hub
from tests.plugins.storage._support import moto_server_process

REGION = "us-east-1"
BUCKET = "hub-test"
CREDENTIALS = {"access_key_id": "AKIDTESTTESTTEST", "secret_access_key": "moto-secret-not-real"}
ONE_ATTEMPT = {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # aiobotocore runs on asyncio only


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[tuple[str, Any]]:
    """moto's URL and a plain botocore S3 client on it, with the test bucket created."""
    import botocore.session

    with moto_server_process() as url:
        client: Any = botocore.session.get_session().create_client(
            "s3",
            region_name=REGION,
            endpoint_url=url,
            aws_access_key_id=CREDENTIALS["access_key_id"],
            aws_secret_access_key=CREDENTIALS["secret_access_key"],
        )
        client.create_bucket(Bucket=BUCKET)
        try:
            yield url, client
        finally:
            client.close()


@pytest.fixture
def moto_url(moto_s3: tuple[str, Any]) -> str:
    return moto_s3[0]


@pytest.fixture
def boto(moto_s3: tuple[str, Any]) -> Any:
    """A synchronous botocore client on moto, to check what S3 holds."""
    return moto_s3[1]


def s3_section(moto_url: str, **extra: Any) -> dict[str, Any]:
    """The ``[storage.s3]`` settings pointing at moto."""
    return {"bucket": BUCKET, "region": REGION, "endpoint_url": moto_url, **CREDENTIALS, **extra}


def hub_settings(moto_url: str, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "env": "test",
        "data_dir": tmp_path,
        "state": {"url": "memory://"},
        "storage": {
            "provider": "s3",
            "providers": ["s3"],
            "s3": s3_section(moto_url, **extra),
            "resilience": ONE_ATTEMPT,
        },
    }


@pytest.fixture
async def s3_hub(moto_url: str, tmp_path: Path) -> AsyncIterator[Callable[..., Hub]]:
    """``s3_hub(**section)``: a hub storing in moto's bucket, closed after the test."""
    made: list[Hub] = []

    def factory(**extra: Any) -> Hub:
        hub = Hub.from_settings(**hub_settings(moto_url, tmp_path, **extra))
        made.append(hub)
        return hub

    yield factory
    for hub in made:
        await hub.aclose()


async def s3_client(hub: Hub) -> Any:
    """The hub's own aiobotocore client (to hook its requests)."""
    from hub_s3.provider import S3StorageProvider

    provider = hub.storage.get_provider("s3")
    assert isinstance(provider, S3StorageProvider)
    return await provider.client()


def open_uploads(boto: Any) -> list[dict[str, Any]]:
    """Multipart uploads moto still holds for the bucket (orphans, if any)."""
    uploads: list[dict[str, Any]] = boto.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    return uploads


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read(self, amt: int | None = None) -> bytes:
        data, self._data = self._data, b""
        return data


def s3_error(status: int, code: str, message: str) -> Any:
    """An S3 REST-XML error answer, as documented (``<Error><Code>..</Code>..</Error>``)."""
    from aiobotocore.awsrequest import AioAWSResponse
    from botocore.awsrequest import HeadersDict

    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>4442587FB7D0A2F9</RequestId></Error>"
    ).encode()
    headers = HeadersDict(
        {"content-type": "application/xml", "x-amz-request-id": "4442587FB7D0A2F9"}
    )
    url = "https://hub-test.s3.amazonaws.com/"
    return AioAWSResponse(url, status, cast(Any, headers), _Body(body))


class Hook:
    """A ``before-send`` hook for one S3 operation: records calls, answers ``answer(n)`` if
    it returns a response (None lets the request through to moto)."""

    def __init__(self, answer: Callable[[int], Any] | None = None) -> None:
        self.answer = answer
        self.calls = 0
        self.params: list[dict[str, str]] = []

    def __call__(self, request: Any, **_: Any) -> Any:
        self.calls += 1
        query = request.url.split("?", 1)[1] if "?" in request.url else ""
        self.params.append(dict(p.partition("=")[::2] for p in query.split("&") if p))
        return None if self.answer is None else self.answer(self.calls)


def hook(client: Any, operation: str, recorder: Hook) -> Callable[[], None]:
    event = f"before-send.s3.{operation}"
    client.meta.events.register_first(event, recorder)
    return lambda: client.meta.events.unregister(event, recorder)


def dump(value: Any) -> str:
    return json.dumps(value, default=str)
