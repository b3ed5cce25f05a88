"""The hub's SMS conformance suite against both Twilio providers (a fake Twilio behind them).

Vendor failures come from ``hub.testing.chaos`` answering 401/429/503/400 in front of the
fake; the documented error bodies are covered one by one in test_errors.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hub.http import override_transport
from hub.testing.conformance import SmsConformance
from tests.plugins.twilio.conftest import twilio_section
from tests.plugins.twilio.fake_twilio import FakeTwilio


class _OnFakeTwilio(SmsConformance):
    @pytest.fixture(autouse=True)
    async def _fake_twilio(self, anyio_backend: object) -> AsyncIterator[FakeTwilio]:
        fake = FakeTwilio()
        with override_transport(httpx.MockTransport(fake)):
            yield fake

    def provider_settings(self) -> dict[str, Any]:
        return twilio_section()


class TestTwilioSms(_OnFakeTwilio):
    provider = "twilio"


class TestTwilioVerifySms(_OnFakeTwilio):
    provider = "twilio_verify"
