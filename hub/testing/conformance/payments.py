"""The payments contract: the state machine, partial captures and refunds, idempotency, declines.

Parts a provider does not declare in ``ProviderSpec.features`` are skipped, saying which.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from hub.capabilities.payments import Money, Payment, PaymentStatus
from hub.errors import InvalidRequest, NotFound, PaymentDeclined
from hub.testing.conformance._base import ConformanceSuite, VendorCall

if TYPE_CHECKING:
    from hub.core import Hub

__all__ = ["PaymentsConformance"]


class PaymentsConformance(ConformanceSuite):
    """Subclass with ``provider = "<name>"`` and the vendor's test payment methods (the defaults
    are Stripe's test tokens, which the built-in providers understand); set one to None to skip
    the checks that need it."""

    capability = "payments"
    currency: ClassVar[str] = "EUR"
    #: A payment method that succeeds.
    card_ok: ClassVar[str | None] = "pm_card_visa"
    #: A payment method the vendor declines, and the normalized decline code it must map to.
    card_declined: ClassVar[str | None] = "pm_card_chargeDeclined"
    decline_code: ClassVar[str] = "card_declined"
    #: A payment method that needs 3-D Secure.
    card_3ds: ClassVar[str | None] = "pm_card_threeDSecureRequired"

    def money(self, amount: int) -> Money:
        return Money(amount, self.currency)

    def need(self, card: str | None, what: str) -> str:
        if card is None:
            pytest.skip(f"{type(self).__name__} sets no test payment method that {what}")
        return card

    async def charge(self, hub: Hub, amount: int, *, capture: bool = True, **kw: Any) -> Payment:
        card = self.need(self.card_ok, "succeeds")
        return await hub.payments.charge(
            self.money(amount), payment_method=card, capture=capture, **kw
        )

    def check_payment(self, payment: Payment, status: PaymentStatus, amount: int) -> None:
        assert payment.provider == self.provider, payment
        assert payment.provider_id, "the payment must carry the vendor's id"
        assert payment.id, payment
        assert payment.status is status, f"expected {status}, the payment is {payment.status}"
        assert payment.amount == amount, payment
        assert payment.currency == self.currency, payment

    async def test_charge_captures_and_returns_vendor_ids(self, provider_hub: Hub) -> None:
        payment = await self.charge(provider_hub, 1999, description="conformance")
        self.check_payment(payment, PaymentStatus.CAPTURED, 1999)
        assert payment.amount_captured == 1999, payment
        assert payment.amount_refunded == 0, payment
        assert payment.idempotency_key, "the payment must carry the idempotency key"
        fetched = await provider_hub.payments.get(payment.id)
        self.check_payment(fetched, PaymentStatus.CAPTURED, 1999)

    async def test_authorize_capture_refund(self, provider_hub: Hub) -> None:
        self.require(provider_hub, "authorize_only")
        payments = provider_hub.payments
        held = await self.charge(provider_hub, 5000, capture=False)
        self.check_payment(held, PaymentStatus.AUTHORIZED, 5000)
        assert held.amount_captured == 0, held
        assert held.capturable == 5000, held
        captured = await payments.capture(held.id)
        self.check_payment(captured, PaymentStatus.CAPTURED, 5000)
        assert captured.amount_captured == 5000, captured
        with pytest.raises(InvalidRequest):
            await payments.capture(held.id)  # captured once already
        with pytest.raises(InvalidRequest):
            await payments.cancel(held.id)  # a captured payment needs a refund
        refund = await payments.refund(held.id)
        assert refund.provider == self.provider, refund
        assert refund.provider_id, "the refund must carry the vendor's id"
        assert refund.amount == 5000, refund
        assert refund.payment_id == held.id, refund
        self.check_payment(refund.payment, PaymentStatus.REFUNDED, 5000)
        with pytest.raises(InvalidRequest):
            await payments.refund(held.id)  # nothing left to refund
        self.check_payment(await payments.get(held.id), PaymentStatus.REFUNDED, 5000)

    async def test_cancel_releases_an_authorization(self, provider_hub: Hub) -> None:
        self.require(provider_hub, "authorize_only")
        payments = provider_hub.payments
        held = await self.charge(provider_hub, 2500, capture=False)
        canceled = await payments.cancel(held.id)
        self.check_payment(canceled, PaymentStatus.CANCELED, 2500)
        with pytest.raises(InvalidRequest):
            await payments.capture(held.id)
        with pytest.raises(InvalidRequest):
            await payments.refund(held.id)
        self.check_payment(await payments.get(held.id), PaymentStatus.CANCELED, 2500)

    async def test_partial_capture(self, provider_hub: Hub) -> None:
        self.require(provider_hub, "authorize_only", "partial_capture")
        held = await self.charge(provider_hub, 5000, capture=False)
        captured = await provider_hub.payments.capture(held.id, self.money(3000))
        self.check_payment(captured, PaymentStatus.CAPTURED, 5000)
        assert captured.amount_captured == 3000, captured
        assert captured.refundable == 3000, captured

    async def test_partial_refunds_add_up(self, provider_hub: Hub) -> None:
        self.require(provider_hub, "partial_refund")
        payments = provider_hub.payments
        payment = await self.charge(provider_hub, 5000)
        first = await payments.refund(payment.id, self.money(1000), reason="requested_by_customer")
        assert first.amount == 1000, first
        self.check_payment(first.payment, PaymentStatus.PARTIALLY_REFUNDED, 5000)
        assert first.payment.amount_refunded == 1000, first.payment
        second = await payments.refund(payment.id, self.money(1500))
        assert second.payment.amount_refunded == 2500, second.payment
        assert second.payment.refundable == 2500, second.payment
        assert second.provider_id != first.provider_id, "each refund needs its own vendor id"
        with pytest.raises(InvalidRequest):
            await payments.refund(payment.id, self.money(2501))  # more than is left
        rest = await payments.refund(payment.id)
        assert rest.amount == 2500, rest
        self.check_payment(rest.payment, PaymentStatus.REFUNDED, 5000)
        assert rest.payment.amount_refunded == 5000, rest.payment

    async def test_idempotency_key_returns_the_first_result(self, provider_hub: Hub) -> None:
        self.require(provider_hub, "idempotency")
        payments = provider_hub.payments
        card = self.need(self.card_ok, "succeeds")
        first = await payments.charge(
            self.money(1200), payment_method=card, idempotency_key="conformance-charge-1"
        )
        assert first.idempotency_key == "conformance-charge-1", first
        again = await payments.charge(
            self.money(1200), payment_method=card, idempotency_key="conformance-charge-1"
        )
        assert again.id == first.id, "a repeated key must return the first payment, not a new one"
        with pytest.raises(InvalidRequest):  # the same key for a different request
            await payments.charge(
                self.money(9900), payment_method=card, idempotency_key="conformance-charge-1"
            )
        refund = await payments.refund(
            first.id, self.money(200), idempotency_key="conformance-refund-1"
        )
        repeat = await payments.refund(
            first.id, self.money(200), idempotency_key="conformance-refund-1"
        )
        assert repeat.id == refund.id, "a repeated refund key must not refund twice"
        assert (await payments.get(first.id)).amount_refunded == 200

    async def test_decline_raises_payment_declined(self, provider_hub: Hub) -> None:
        card = self.need(self.card_declined, "is declined")
        with pytest.raises(PaymentDeclined) as caught:
            await provider_hub.payments.charge(self.money(1999), payment_method=card)
        error = caught.value
        assert error.provider == self.provider, error
        assert error.decline_code == self.decline_code, error.decline_code
        assert error.retryable is False, "a declined card must never be retried"

    async def test_three_d_secure_requires_action(self, provider_hub: Hub) -> None:
        self.require(provider_hub, "three_d_secure")
        card = self.need(self.card_3ds, "needs 3-D Secure")
        payment = await provider_hub.payments.charge(self.money(4200), payment_method=card)
        self.check_payment(payment, PaymentStatus.REQUIRES_ACTION, 4200)
        assert payment.client_secret, "the browser needs the client secret to authenticate"
        assert payment.client_secret not in repr(payment), "the client secret leaked into repr"
        canceled = await provider_hub.payments.cancel(payment.id)
        self.check_payment(canceled, PaymentStatus.CANCELED, 4200)

    async def test_customer_can_be_charged(self, provider_hub: Hub) -> None:
        self.require(provider_hub, "customers")
        customer = await provider_hub.payments.create_customer(
            email="ada@example.com", name="Ada Lovelace", metadata={"plan": "pro"}
        )
        assert customer.provider == self.provider, customer
        assert customer.provider_id, "the customer must carry the vendor's id"
        assert customer.email == "ada@example.com", customer
        payment = await self.charge(provider_hub, 990, customer=customer.id)
        assert payment.customer == customer.id, payment

    async def test_unknown_payment_is_not_found(self, provider_hub: Hub) -> None:
        with pytest.raises(NotFound) as caught:
            await provider_hub.payments.get("pay_does_not_exist_0000")
        assert caught.value.provider == self.provider

    async def test_invalid_input_raises_invalid_request(self, provider_hub: Hub) -> None:
        payments = provider_hub.payments
        with pytest.raises(InvalidRequest):
            await payments.charge(1999)  # type: ignore[arg-type]  # a bare number is no Money
        with pytest.raises(InvalidRequest):
            Money(0, self.currency)
        with pytest.raises(InvalidRequest):
            Money(100, "EURO")
        payment = await self.charge(provider_hub, 1000)
        other = "USD" if self.currency != "USD" else "EUR"
        with pytest.raises(InvalidRequest):
            await payments.refund(payment.id, Money(100, other))
        with pytest.raises(InvalidRequest):
            await payments.create_customer(email="not-an-address")

    async def prepare_vendor_call(self, hub: Hub) -> VendorCall:
        payment = await self.charge(hub, 700)
        return lambda: hub.payments.get(payment.id)
