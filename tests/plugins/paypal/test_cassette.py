"""The PayPal plugin replayed from a cassette (CI runs it in mode ``none``).

The cassette is documentation-built: recorded once through the hub's own cassette layer while
:class:`~tests.plugins.paypal.stub.PayPalStub` answered with the shapes PayPal documents. With
``HUB_RECORD_MODE=all PAYPAL_CLIENT_ID=… PAYPAL_CLIENT_SECRET=… PAYPAL_VAULT_ID=…`` the same test
re-records it against the sandbox (credentials and tokens are redacted before anything is
written; the vault id must be a saved sandbox card).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from hub import Hub, Money, PaymentDeclined, PaymentStatus
from hub.testing.cassettes import CassetteTransport
from tests.plugins.paypal.stub import CLIENT_ID, CLIENT_SECRET, PayPalStub


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
@pytest.mark.cassette("paypal/payment_lifecycle")
async def test_payment_lifecycle_replays_from_the_cassette(
    make_hub: Callable[..., Hub], hub_cassette: CassetteTransport, request: pytest.FixtureRequest
) -> None:
    live = "PAYPAL_CLIENT_SECRET" in os.environ
    if hub_cassette.mode != "none" and not live:
        stub = PayPalStub()  # record from the documented shapes
        request.getfixturevalue("httpx_mock").add_callback(stub.handle, is_reusable=True)
    hub = make_hub(
        payments={
            "providers": ["paypal"],
            "paypal": {
                "client_id": os.environ.get("PAYPAL_CLIENT_ID", CLIENT_ID),
                "client_secret": os.environ.get("PAYPAL_CLIENT_SECRET", CLIENT_SECRET),
            },
            "resilience": {"retry": {"attempts": 1}},
        }
    )
    payments = hub.payments
    card = os.environ.get("PAYPAL_VAULT_ID", "vault-visa")
    held = await payments.charge(
        Money(5000, "EUR"),
        payment_method=card,
        capture=False,
        description="cassette order",
        metadata={"order": "42"},
        idempotency_key="cassette-charge",
    )
    assert held.status is PaymentStatus.AUTHORIZED
    assert held.metadata == {"order": "42"}
    captured = await payments.capture(
        held.id, Money(3000, "EUR"), idempotency_key="cassette-capture"
    )
    assert (captured.status, captured.amount_captured) == (PaymentStatus.CAPTURED, 3000)
    part = await payments.refund(held.id, Money(1000, "EUR"), idempotency_key="cassette-refund-1")
    assert part.payment.status is PaymentStatus.PARTIALLY_REFUNDED
    rest = await payments.refund(held.id, idempotency_key="cassette-refund-2")
    assert (rest.amount, rest.payment.status) == (2000, PaymentStatus.REFUNDED)
    other = await payments.charge(
        Money(2500, "EUR"), payment_method=card, capture=False, idempotency_key="cassette-held"
    )
    assert (
        await payments.cancel(other.id, idempotency_key="cassette-void")
    ).status is PaymentStatus.CANCELED
    if not live:  # the sandbox has no fixed vault id that always declines
        with pytest.raises(PaymentDeclined) as caught:
            await payments.charge(
                Money(1999, "EUR"),
                payment_method="vault-declined",
                idempotency_key="cassette-decline",
            )
        assert caught.value.decline_code == "card_declined"
    if hub_cassette.mode == "none":
        assert hub_cassette.all_played, "every recorded exchange is part of the flow"
