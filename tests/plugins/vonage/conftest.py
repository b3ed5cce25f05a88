"""Fixtures of the Vonage plugin's tests: a fake SMS API behind pytest-httpx, and hubs on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from hub.core import Hub
from hub.testing.clock import FakeClock
from tests.plugins.vonage.fake_vonage import API_KEY, API_SECRET, FakeVonage

#: One attempt and no breaker: a vendor error surfaces as itself.
ONE_ATTEMPT = {"retry": {"attempts": 1}, "circuit_breaker": {"enabled": False}}
MakeHub = Callable[..., Hub]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def vonage(httpx_mock: HTTPXMock) -> FakeVonage:
    """The fake SMS API answering every request to rest.nexmo.com."""
    fake = FakeVonage()
    httpx_mock.add_callback(
        fake.handle, url="https://rest.nexmo.com/sms/json", is_optional=True, is_reusable=True
    )
    return fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1_700_000_000.0)


@pytest.fixture
async def make_vonage_hub(
    tmp_path: Path, clock: FakeClock, anyio_backend: object
) -> AsyncIterator[MakeHub]:
    """``make_vonage_hub(**section)``: a hub whose SMS goes to Vonage, closed after the test."""
    hubs: list[Hub] = []

    def make(resilience: dict[str, Any] | None = None, **section: Any) -> Hub:
        settings = {"api_key": API_KEY, "api_secret": API_SECRET, **section}
        made = Hub.from_settings(
            env="test",
            data_dir=tmp_path,
            state={"url": "memory://"},
            clock=clock,
            sms={
                "provider": "vonage",
                "providers": ["vonage"],
                "vonage": settings,
                "resilience": resilience if resilience is not None else ONE_ATTEMPT,
            },
        )
        hubs.append(made)
        return made

    yield make
    for made in hubs:
        await made.aclose()
