"""Stripe and PayPal side by side: one flow by settings alone, and the payment failover rules.

Both vendors answer from their documented-shape stubs, routed by host; nothing leaves the
process. DESIGN.md: a payment moves to the next provider only when the request provably had no
effect; a timeout after the request left is retried on the same provider with the same key (or
ends in OutcomeUnknown), and a decline is final.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from hub import Hub, Money, OutcomeUnknown, PaymentDeclined, PaymentStatus
from hub.http import override_transport
from hub.testing.chaos import ChaosTransport, Fault
from tests.plugins.paypal.stub import CLIENT_ID, CLIENT_SECRET, PayPalStub
from tests.plugins.stripe.stub import SECRET_KEY, StripeStub

SETTINGS: dict[str, dict[str, Any]] = {
    "stripe": {"secret_key": SECRET_KEY},
    "paypal": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
}
#: Each vendor's test payment method that succeeds, and one it declines.
CARDS = {
    "stripe": ("pm_card_visa", "pm_card_chargeDeclined"),
    "paypal": ("vault-visa", "vault-declined"),
}
NO_WAIT = {"wait_initial": 0, "wait_max": 0, "wait_jitter": 0}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Vendors:
    """Both stubs behind one transport, routed by host as the real APIs are."""

    stripe: StripeStub = field(default_factory=StripeStub)
    paypal: PayPalStub = field(default_factory=PayPalStub)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.stripe.com":
            return self.stripe.handle(request)
        if request.url.host == "api-m.sandbox.paypal.com":
            return self.paypal.handle(request)
        raise AssertionError(f"unexpected host {request.url.host}")

    def posts(self, vendor: str) -> list[httpx.Request]:
        stub = self.stripe if vendor == "stripe" else self.paypal
        return [r for r in stub.requests if r.method == "POST" and "oauth2" not in r.url.path]


@pytest.fixture
async def vendors(anyio_backend: object) -> AsyncIterator[Vendors]:
    found = Vendors()
    with override_transport(httpx.MockTransport(found.handle)):
        yield found


def payments_settings(*chain: str, attempts: int = 3) -> dict[str, Any]:
    return {
        "providers": list(chain),
        **{name: SETTINGS[name] for name in chain},
        "resilience": {"retry": {"attempts": attempts, **NO_WAIT}},
    }


@pytest.mark.anyio
@pytest.mark.parametrize("vendor", ["stripe", "paypal"])
async def test_authorize_partial_capture_partial_refund_and_the_rest(
    make_hub: Callable[..., Hub], vendors: Vendors, vendor: str
) -> None:
    hub = make_hub(payments=payments_settings(vendor))  # the only difference: settings
    payments = hub.payments
    card = CARDS[vendor][0]

    held = await payments.charge(Money(5000, "EUR"), payment_method=card, capture=False)
    assert (held.provider, held.status, held.capturable) == (vendor, PaymentStatus.AUTHORIZED, 5000)

    captured = await payments.capture(held.id, Money(3000, "EUR"))
    assert captured.status is PaymentStatus.CAPTURED
    assert (captured.amount, captured.amount_captured, captured.refundable) == (5000, 3000, 3000)

    first = await payments.refund(held.id, Money(1000, "EUR"))
    assert first.amount == 1000
    assert first.payment.status is PaymentStatus.PARTIALLY_REFUNDED
    assert (first.payment.amount_refunded, first.payment.refundable) == (1000, 2000)

    rest = await payments.refund(held.id)
    assert rest.amount == 2000
    assert rest.id != first.id
    assert rest.payment.status is PaymentStatus.REFUNDED
    assert rest.payment.amount_refunded == 3000
    assert rest.payment.refundable == 0

    final = await payments.get(held.id)
    assert (final.status, final.amount_captured, final.amount_refunded) == (
        PaymentStatus.REFUNDED,
        3000,
        3000,
    )


def _faulted(vendors: Vendors, *script: Fault | None) -> ChaosTransport:
    return ChaosTransport(vendors.handle, script=script)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("chain", "before"),
    [(("stripe", "paypal"), ()), (("paypal", "stripe"), (None,))],  # PayPal first fetches a token
)
async def test_a_charge_timed_out_after_sending_is_retried_with_its_key_on_the_same_vendor(
    make_hub: Callable[..., Hub], vendors: Vendors, chain: tuple[str, str], before: tuple[None, ...]
) -> None:
    first, second = chain
    chaos = _faulted(vendors, *before, Fault.read_timeout(reached=True))
    with override_transport(chaos):
        hub = make_hub(payments=payments_settings(*chain))
        payment = await hub.payments.charge(Money(1999, "EUR"), payment_method=CARDS[first][0])
    assert chaos.injected["read_timeout"] == 1
    assert payment.provider == first
    assert payment.status is PaymentStatus.CAPTURED
    header = "idempotency-key" if first == "stripe" else "paypal-request-id"
    keys = [r.headers[header] for r in vendors.posts(first)]
    assert keys == [payment.idempotency_key] * 2, "the retry must carry the first attempt's key"
    created = vendors.stripe.intents if first == "stripe" else vendors.paypal.orders
    assert len(created) == 1, "the vendor saw the key twice and charged once"
    assert vendors.posts(second) == []
    assert getattr(vendors, second).requests == []


@pytest.mark.anyio
async def test_a_charge_whose_every_attempt_timed_out_is_outcome_unknown_not_failed_over(
    make_hub: Callable[..., Hub], vendors: Vendors
) -> None:
    chaos = _faulted(vendors, *[Fault.read_timeout(reached=True)] * 3)
    with override_transport(chaos):
        hub = make_hub(payments=payments_settings("stripe", "paypal"))
        with pytest.raises(OutcomeUnknown) as caught:
            await hub.payments.charge(
                Money(1999, "EUR"), payment_method="pm_card_visa", idempotency_key="order-7"
            )
    assert caught.value.idempotency_key == "order-7"
    assert caught.value.provider == "stripe"
    assert [r.headers["idempotency-key"] for r in vendors.posts("stripe")] == ["order-7"] * 3
    assert vendors.paypal.requests == [], "PayPal must receive nothing"
    with override_transport(httpx.MockTransport(vendors.handle)):  # the caller retries later
        again = await hub.payments.charge(
            Money(1999, "EUR"), payment_method="pm_card_visa", idempotency_key="order-7"
        )
    assert len(vendors.stripe.intents) == 1
    assert again.id in vendors.stripe.intents


@pytest.mark.anyio
@pytest.mark.parametrize("chain", [("stripe", "paypal"), ("paypal", "stripe")])
async def test_a_decline_is_sent_once_and_never_fails_over(
    make_hub: Callable[..., Hub], vendors: Vendors, chain: tuple[str, str]
) -> None:
    first, second = chain
    hub = make_hub(payments=payments_settings(*chain))
    with pytest.raises(PaymentDeclined) as caught:
        await hub.payments.charge(Money(1999, "EUR"), payment_method=CARDS[first][1])
    assert caught.value.provider == first
    assert caught.value.decline_code == "card_declined"
    assert len(vendors.posts(first)) == 1, "a decline is never retried"
    assert getattr(vendors, second).requests == [], "a decline never fails over"


@pytest.mark.anyio
async def test_a_request_that_never_left_fails_over(
    make_hub: Callable[..., Hub], vendors: Vendors
) -> None:
    """The control: a refused connection proves nothing happened, so PayPal may be asked."""
    chaos = _faulted(vendors, Fault.connect_error())
    with override_transport(chaos):
        hub = make_hub(payments=payments_settings("stripe", "paypal", attempts=1))
        payment = await hub.payments.charge(Money(1999, "EUR"), payment_method="vault-visa")
    assert payment.provider == "paypal"
    assert payment.status is PaymentStatus.CAPTURED
    assert vendors.stripe.requests == []
    assert len(vendors.posts("paypal")) == 1
