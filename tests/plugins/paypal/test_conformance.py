"""The payments conformance suite on the PayPal plugin, against the documented-shape stub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hub.http import override_transport
from hub.testing.conformance import PaymentsConformance
from tests.plugins.paypal.stub import CLIENT_ID, CLIENT_SECRET, PayPalStub


class TestPayPalConformance(PaymentsConformance):
    provider = "paypal"
    card_ok = "vault-visa"
    card_declined = "vault-declined"  # 422 INSTRUMENT_DECLINED
    decline_code = "card_declined"
    card_3ds = None  # buyer approval has no client secret; three_d_secure is not declared

    @pytest.fixture(autouse=True)
    async def paypal_stub(self, anyio_backend: object) -> AsyncIterator[PayPalStub]:
        """Every request of the hub under test goes to a fresh stub (sandbox URL kept)."""
        stub = PayPalStub()
        with override_transport(httpx.MockTransport(stub.handle)):
            yield stub

    def provider_settings(self) -> dict[str, Any]:
        return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
