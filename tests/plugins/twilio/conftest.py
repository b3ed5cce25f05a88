"""Fixtures of the Twilio plugin's tests: a fake Twilio behind the hub's clients, hub settings."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from hub.core import Hub
from hub.http import override_transport
from tests.plugins.twilio.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    VERIFY_SERVICE_SID,
    FakeTwilio,
)


@pytest.fixture(autouse=True)
def _no_twilio_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's TWILIO_* variables must not leak into a test's settings."""
    for name in list(os.environ):
        if name.startswith("TWILIO_"):
            monkeypatch.delenv(name)


def twilio_section(**extra: Any) -> dict[str, Any]:
    """A provider section with the fake account's credentials."""
    return {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "verify_service_sid": VERIFY_SERVICE_SID,
        **extra,
    }


def sms_settings(provider: str = "twilio", *, attempts: int = 1, **extra: Any) -> dict[str, Any]:
    """An ``sms`` section on ``provider`` with one attempt and no breaker unless asked."""
    return {
        "provider": provider,
        "providers": [provider],
        provider: twilio_section(**extra),
        "resilience": {
            "retry": {"attempts": attempts},
            "circuit_breaker": {"enabled": False},
        },
    }


@pytest.fixture
def fake() -> FakeTwilio:
    return FakeTwilio()


@pytest.fixture
async def mocked(fake: FakeTwilio, anyio_backend: object) -> AsyncIterator[FakeTwilio]:
    """Every hub client talks to ``fake`` during the test (set in the runner task)."""
    with override_transport(httpx.MockTransport(fake)):
        yield fake


@pytest.fixture
def twilio_hub(make_hub: Callable[..., Hub]) -> Callable[..., Hub]:
    """``twilio_hub(provider="twilio", **section)``: a test hub whose SMS goes to Twilio."""

    def build(provider: str = "twilio", *, attempts: int = 1, **extra: Any) -> Hub:
        return make_hub(
            state={"url": "memory://"},
            sms=sms_settings(provider, attempts=attempts, **extra),
        )

    return build
