"""Fixtures for the SNS plugin: moto's server on 127.0.0.1 (shared with the SES tests' fixture)
and a hub sending SMS through it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from hub import Hub
from tests.plugins.ses.conftest import moto_server
from tests.plugins.sns._support import hub_settings

__all__ = ["moto_server"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # aiobotocore runs on asyncio only


@pytest.fixture
def moto_url(moto_server: tuple[str, Any]) -> str:
    """The URL of moto's server, speaking Amazon SNS's real protocol on 127.0.0.1."""
    return moto_server[0]


@pytest.fixture
async def sns_hub(moto_url: str) -> AsyncIterator[Hub]:
    """A hub whose SMS go through SNS on moto: one attempt, no breaker."""
    async with Hub.from_settings(**hub_settings(moto_url)) as hub:
        yield hub
