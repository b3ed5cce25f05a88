"""The Stripe plugin replayed from a cassette (CI runs it in mode ``none``).

The cassette is documentation-built: recorded once through the hub's own cassette layer while
:class:`~tests.plugins.stripe.stub.StripeStub` answered with the shapes Stripe documents. With
``HUB_RECORD_MODE=all STRIPE_SECRET_KEY=sk_test_…`` the same test re-records it against Stripe's
test mode (the key is redacted before anything is written).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from hub import Hub, Money, PaymentDeclined, PaymentStatus
from hub.testing.cassettes import CassetteTransport
from tests.plugins.stripe.stub import SECRET_KEY, StripeStub


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
@pytest.mark.cassette("stripe/payment_lifecycle")
async def test_payment_lifecycle_replays_from_the_cassette(
    make_hub: Callable[..., Hub], hub_cassette: CassetteTransport, request: pytest.FixtureRequest
) -> None:
    real_key = os.environ.get("STRIPE_SECRET_KEY")
    if hub_cassette.mode != "none" and not real_key:
        stub = StripeStub()  # record from the documented shapes
        request.getfixturevalue("httpx_mock").add_callback(stub.handle, is_reusable=True)
    hub = make_hub(
        payments={
            "providers": ["stripe"],
            "stripe": {"secret_key": real_key or SECRET_KEY},
            "resilience": {"retry": {"attempts": 1}},
        }
    )
    payments = hub.payments
    customer = await payments.create_customer(
        email="ada@example.com", name="Ada Lovelace", idempotency_key="cassette-customer"
    )
    held = await payments.charge(
        Money(5000, "EUR"),
        customer=customer.id,
        payment_method="pm_card_visa",
        capture=False,
        description="cassette order",
        metadata={"order": "42"},
        idempotency_key="cassette-charge",
    )
    assert held.status is PaymentStatus.AUTHORIZED
    assert held.customer == customer.id
    captured = await payments.capture(
        held.id, Money(3000, "EUR"), idempotency_key="cassette-capture"
    )
    assert (captured.status, captured.amount_captured) == (PaymentStatus.CAPTURED, 3000)
    part = await payments.refund(held.id, Money(1000, "EUR"), idempotency_key="cassette-refund-1")
    assert part.payment.status is PaymentStatus.PARTIALLY_REFUNDED
    rest = await payments.refund(held.id, idempotency_key="cassette-refund-2")
    assert (rest.amount, rest.payment.status) == (2000, PaymentStatus.REFUNDED)
    needs_action = await payments.charge(
        Money(4200, "EUR"),
        payment_method="pm_card_authenticationRequired",
        idempotency_key="cassette-3ds",
    )
    assert needs_action.status is PaymentStatus.REQUIRES_ACTION
    assert needs_action.next_action
    canceled = await payments.cancel(needs_action.id, idempotency_key="cassette-cancel")
    assert canceled.status is PaymentStatus.CANCELED
    with pytest.raises(PaymentDeclined) as caught:
        await payments.charge(
            Money(1999, "EUR"),
            payment_method="pm_card_chargeDeclined",
            idempotency_key="cassette-decline",
        )
    assert caught.value.decline_code == "card_declined"
    if hub_cassette.mode == "none":
        assert hub_cassette.all_played, "every recorded exchange is part of the flow"
