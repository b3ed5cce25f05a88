"""The payments conformance suite on the Stripe plugin, against the documented-shape stub."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hub.http import override_transport
from hub.testing.conformance import PaymentsConformance
from tests.plugins.stripe.stub import SECRET_KEY, StripeStub


class TestStripeConformance(PaymentsConformance):
    provider = "stripe"
    card_ok = "pm_card_visa"
    card_declined = "pm_card_chargeDeclined"  # decline_code generic_decline
    decline_code = "card_declined"
    card_3ds = "pm_card_authenticationRequired"

    @pytest.fixture(autouse=True)
    async def stripe_stub(self, anyio_backend: object) -> AsyncIterator[StripeStub]:
        """Every request of the hub under test goes to a fresh stub."""
        stub = StripeStub()
        with override_transport(httpx.MockTransport(stub.handle)):
            yield stub

    def provider_settings(self) -> dict[str, Any]:
        return {"secret_key": SECRET_KEY}
