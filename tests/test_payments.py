"""hub.payments: Money, the payment state machine, idempotency, declines and 3-D Secure.

Every scenario runs on both built-in backends (``local`` SQLite and ``fake`` memory), which share
one ledger and must behave the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

import hub
from hub.capabilities import builtin
from hub.capabilities.payments import (
    DECLINE_CODES,
    FEATURES,
    Money,
    Payment,
    PaymentsProvider,
    PaymentStatus,
    minor_units,
    normalize_decline,
    payment_declined,
)
from hub.errors import InvalidRequest, NotFound, PaymentDeclined, UnsupportedFeature
from hub.plugins import Registry, default_registry
from hub.providers._ledger import DECLINES, LedgerProvider
from hub.providers.fake.payments import FakePaymentsProvider
from hub.settings import HubSettings
from hub.webhooks.events import HubEvent

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["local", "fake"])
async def h(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[hub.Hub]:
    if request.param == "local":
        opened = hub.Hub.from_settings(env="development", data_dir=tmp_path)
    else:
        opened = hub.Hub.from_settings(env="test")
    async with opened as instance:
        yield instance


@pytest.fixture
def events(h: hub.Hub) -> list[HubEvent]:
    seen: list[HubEvent] = []

    @h.on("payment.*")
    async def record(event: HubEvent) -> None:
        seen.append(event)

    return seen


def ledger(h: hub.Hub) -> LedgerProvider:
    provider = h.payments.provider
    assert isinstance(provider, PaymentsProvider)
    assert isinstance(provider, LedgerProvider)
    return provider


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


# -- Money ---------------------------------------------------------------------------------


def test_features_match_the_builtin_vocabulary() -> None:
    assert FEATURES == builtin._PAYMENTS


@pytest.mark.parametrize("amount", [0, -100])
def test_money_refuses_amounts_that_are_not_positive(amount: int) -> None:
    with pytest.raises(InvalidRequest, match=r"positive whole number of minor units.*1999") as err:
        Money(amount, "EUR")
    assert err.value.field == "amount"


def test_money_refuses_fractional_and_boolean_amounts() -> None:
    with pytest.raises(InvalidRequest, match="whole number"):
        Money(19.99, "EUR")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="whole number"):
        Money(True, "EUR")


def test_money_refuses_unknown_currencies() -> None:
    with pytest.raises(InvalidRequest, match=r"unknown currency 'XYZ'.*ISO 4217") as err:
        Money(100, "XYZ")
    assert err.value.field == "currency"
    with pytest.raises(InvalidRequest, match="unknown currency"):
        Money(100, "XAU")  # gold has no minor unit: not a payment currency


def test_money_normalizes_the_currency_and_formats_with_its_exponent() -> None:
    assert Money(1999, "eur") == Money(1999, "EUR")
    assert Money(1999, " usd ").currency == "USD"
    assert str(Money(1999, "EUR")) == "19.99 EUR"
    assert str(Money(5, "EUR")) == "0.05 EUR"
    assert str(Money(500, "JPY")) == "500 JPY"
    assert str(Money(1500, "KWD")) == "1.500 KWD"
    assert repr(Money(1999, "EUR")) == "Money(1999, 'EUR')"
    assert Money(amount=1999, currency="EUR") == Money(1999, "EUR")


def test_money_from_decimal_refuses_more_decimals_than_the_currency_has() -> None:
    assert Money.from_decimal("19.99", "EUR") == Money(1999, "EUR")
    assert Money.from_decimal("500", "JPY") == Money(500, "JPY")
    with pytest.raises(InvalidRequest, match="more decimals than JPY"):
        Money.from_decimal("5.5", "JPY")


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        ("19.99", "EUR", 1999),
        ("0", "EUR", 0),
        ("0.00", "USD", 0),
        ("500", "JPY", 500),
        ("1.005", "KWD", 1005),
        ("100", "huf", 10000),
        (Decimal("-2.50"), "EUR", -250),
        (7, "EUR", 700),
    ],
)
def test_minor_units_reads_decimal_amounts_zero_included(
    value: str | Decimal | int, currency: str, minor: int
) -> None:
    assert minor_units(value, currency) == minor


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("5.5", "more decimals than JPY"),
        ("abc", "not a decimal amount"),
        ("Infinity", "not a decimal amount"),
        ("NaN", "not a decimal amount"),
        (0.1, "float"),
        (True, "bool"),
    ],
)
def test_minor_units_refuses_what_is_not_an_exact_amount(value: object, problem: str) -> None:
    with pytest.raises(InvalidRequest, match=problem) as info:
        minor_units(value, "JPY")  # type: ignore[arg-type]
    assert info.value.field == "amount"


async def test_charge_needs_money_not_a_number(h: hub.Hub) -> None:
    with pytest.raises(InvalidRequest, match=r"amount must be Money.*Money\(1999, 'EUR'\)"):
        await h.payments.charge(1999)  # type: ignore[arg-type]


# -- the state machine ---------------------------------------------------------------------


async def test_authorize_capture_part_refund_part_then_the_rest(
    h: hub.Hub, events: list[HubEvent]
) -> None:
    customer = await h.payments.create_customer("ada@example.com", "Ada")
    authorized = await h.payments.charge(eur(1000), customer=customer.id, capture=False)
    assert authorized.status is PaymentStatus.AUTHORIZED
    assert (authorized.amount, authorized.amount_captured, authorized.customer) == (
        1000,
        0,
        customer.id,
    )
    assert events == []

    captured = await h.payments.capture(authorized.id, eur(600))
    assert captured.status is PaymentStatus.CAPTURED
    assert (captured.amount_captured, captured.refundable) == (600, 600)

    first = await h.payments.refund(captured.id, eur(200), reason="requested_by_customer")
    assert (first.amount, first.payment_id) == (200, captured.id)
    assert first.payment.status is PaymentStatus.PARTIALLY_REFUNDED

    rest = await h.payments.refund(captured.id)
    assert rest.amount == 400
    assert rest.payment.status is PaymentStatus.REFUNDED

    final = await h.payments.get(captured.id)
    assert final.status is PaymentStatus.REFUNDED
    assert (final.amount_captured, final.amount_refunded, final.refundable) == (600, 600, 0)
    assert [e.type for e in events] == [
        "payment.captured",
        "payment.succeeded",
        "payment.refunded",
        "payment.refunded",
    ]
    assert {e.subject_id for e in events} == {captured.id}
    assert events[-1].data["amount_refunded"] == 600


async def test_a_captured_charge_succeeds_at_once(h: hub.Hub, events: list[HubEvent]) -> None:
    payment = await h.payments.charge(eur(1999), description="order 42")
    assert payment.status is PaymentStatus.CAPTURED
    assert payment.amount_captured == 1999
    assert str(payment.money) == "19.99 EUR"
    assert [e.type for e in events] == ["payment.succeeded"]


async def test_capture_takes_at_most_the_authorized_amount_and_only_once(h: hub.Hub) -> None:
    payment = await h.payments.charge(eur(1000), capture=False)
    with pytest.raises(InvalidRequest, match=r"only 10\.00 EUR is capturable"):
        await h.payments.capture(payment.id, eur(1001))
    await h.payments.capture(payment.id)
    with pytest.raises(InvalidRequest, match="it is captured"):
        await h.payments.capture(payment.id)


async def test_cancel_releases_an_authorization_but_a_captured_payment_needs_a_refund(
    h: hub.Hub, events: list[HubEvent]
) -> None:
    held = await h.payments.charge(eur(500), capture=False)
    canceled = await h.payments.cancel(held.id)
    assert canceled.status is PaymentStatus.CANCELED
    assert events[-1].type == "payment.canceled"
    with pytest.raises(InvalidRequest, match="it is canceled"):
        await h.payments.capture(held.id)

    paid = await h.payments.charge(eur(500))
    with pytest.raises(InvalidRequest, match="refund it instead"):
        await h.payments.cancel(paid.id)
    assert (await h.payments.get(paid.id)).status is PaymentStatus.CAPTURED


async def test_an_uncaptured_payment_is_canceled_not_refunded(h: hub.Hub) -> None:
    held = await h.payments.charge(eur(500), capture=False)
    with pytest.raises(InvalidRequest, match="never captured; cancel it instead"):
        await h.payments.refund(held.id)


async def test_refunds_never_exceed_what_was_captured(h: hub.Hub) -> None:
    payment = await h.payments.charge(eur(1000))
    with pytest.raises(InvalidRequest, match=r"only 10\.00 EUR is refundable"):
        await h.payments.refund(payment.id, eur(1001))
    await h.payments.refund(payment.id, eur(300))
    with pytest.raises(InvalidRequest) as err:
        await h.payments.refund(payment.id, eur(800))
    assert "only 7.00 EUR is refundable" in str(err.value)
    assert "already refunded 3.00 EUR" in str(err.value)
    await h.payments.refund(payment.id)
    with pytest.raises(InvalidRequest, match="it is refunded"):
        await h.payments.refund(payment.id)
    assert (await h.payments.get(payment.id)).amount_refunded == 1000


async def test_amounts_must_be_in_the_payment_currency(h: hub.Hub) -> None:
    payment = await h.payments.charge(eur(1000), capture=False)
    with pytest.raises(InvalidRequest, match=r"which is in EUR; pass Money\(\.\.\., 'EUR'\)"):
        await h.payments.capture(payment.id, Money(1000, "USD"))
    await h.payments.capture(payment.id)
    with pytest.raises(InvalidRequest, match="in EUR"):
        await h.payments.refund(payment.id, Money(100, "USD"))
    assert (await h.payments.get(payment.id)).amount_refunded == 0


async def test_unknown_payments_and_customers(h: hub.Hub) -> None:
    for call in (
        h.payments.get("pay_missing"),
        h.payments.capture("pay_missing"),
        h.payments.refund("pay_missing", eur(100)),
        h.payments.cancel("pay_missing"),
    ):
        with pytest.raises(NotFound, match="pay_missing") as err:
            await call
        assert err.value.provider == h.payments.providers[0]
    with pytest.raises(InvalidRequest, match="create_customer") as bad:
        await h.payments.charge(eur(100), customer="cus_missing")
    assert bad.value.field == "customer"


# -- idempotency ---------------------------------------------------------------------------


async def test_every_result_carries_its_idempotency_key(h: hub.Hub) -> None:
    payment = await h.payments.charge(eur(1000), capture=False, idempotency_key="order-7")
    assert payment.idempotency_key == "order-7"
    captured = await h.payments.capture(payment.id)
    assert captured.idempotency_key
    assert captured.idempotency_key != "order-7"
    refund = await h.payments.refund(payment.id, idempotency_key="refund-7")
    assert refund.idempotency_key == "refund-7"
    customer = await h.payments.create_customer("ada@example.com")
    assert customer.idempotency_key


async def test_the_same_key_and_request_charges_once(h: hub.Hub, events: list[HubEvent]) -> None:
    first = await h.payments.charge(eur(1999), idempotency_key="order-1")
    again = await h.payments.charge(eur(1999), idempotency_key="order-1")
    assert again == first
    assert [p.id for p in await ledger(h).list_payments()] == [first.id]
    assert [e.type for e in events] == ["payment.succeeded"]


async def test_the_same_key_with_another_request_is_refused(h: hub.Hub) -> None:
    await h.payments.charge(eur(1999), idempotency_key="order-1")
    with pytest.raises(InvalidRequest, match="reused with different parameters") as err:
        await h.payments.charge(eur(2999), idempotency_key="order-1")
    assert err.value.field == "idempotency_key"
    assert len(await ledger(h).list_payments()) == 1


async def test_a_repeated_refund_returns_the_first_refund(h: hub.Hub) -> None:
    payment = await h.payments.charge(eur(1000))
    first = await h.payments.refund(payment.id, eur(300), idempotency_key="r-1")
    again = await h.payments.refund(payment.id, eur(300), idempotency_key="r-1")
    assert again == first
    assert (await h.payments.get(payment.id)).amount_refunded == 300
    with pytest.raises(InvalidRequest, match="reused"):
        await h.payments.refund(payment.id, eur(400), idempotency_key="r-1")


async def test_a_repeated_customer_is_created_once(h: hub.Hub) -> None:
    first = await h.payments.create_customer("ada@example.com", idempotency_key="c-1")
    again = await h.payments.create_customer("ada@example.com", idempotency_key="c-1")
    assert again.id == first.id
    with pytest.raises(InvalidRequest, match="email"):
        await h.payments.create_customer("not an email")


# -- declines and 3-D Secure ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "code"),
    [
        ("pm_card_chargeDeclined", "card_declined"),
        ("pm_card_insufficientFunds", "insufficient_funds"),
        ("pm_card_expired", "expired_card"),
        ("pm_card_incorrectCvc", "incorrect_cvc"),
    ],
)
async def test_test_cards_decline_with_normalized_codes(
    h: hub.Hub, events: list[HubEvent], method: str, code: str
) -> None:
    with pytest.raises(PaymentDeclined) as err:
        await h.payments.charge(eur(1000), payment_method=method, idempotency_key="k")
    assert err.value.decline_code == code
    assert err.value.retryable is False
    recorded = await ledger(h).list_payments()
    assert [(p.status, p.failure_code) for p in recorded] == [(PaymentStatus.FAILED, code)]
    assert [e.type for e in events] == ["payment.failed"]

    # Asking again with the same key gives the same answer, and records nothing new.
    with pytest.raises(PaymentDeclined) as again:
        await h.payments.charge(eur(1000), payment_method=method, idempotency_key="k")
    assert again.value.decline_code == code
    assert len(await ledger(h).list_payments()) == 1


def test_decline_codes_are_one_vocabulary() -> None:
    for code in (
        "card_declined",
        "insufficient_funds",
        "expired_card",
        "incorrect_cvc",
        "incorrect_number",
        "fraudulent",
        "lost_card",
        "stolen_card",
        "processing_error",
        "authentication_required",
        "authentication_failed",
        "card_not_supported",
        "currency_not_supported",
        "limit_exceeded",
    ):
        assert DECLINE_CODES[code]  # each says what it means
    assert {code for code, _ in DECLINES.values()} <= set(DECLINE_CODES)


def test_vendor_codes_normalize_into_the_vocabulary() -> None:
    table = {"do_not_honor": "card_declined", "nsf": "insufficient_funds", "odd": "not_a_code"}
    assert normalize_decline(table, None, "nsf") == "insufficient_funds"
    assert normalize_decline(table, "nsf", "do_not_honor") == "insufficient_funds"
    assert normalize_decline(table, "something_new") == "card_declined"
    assert normalize_decline(table) == "card_declined"
    assert normalize_decline(table, "odd") == "card_declined"  # a table mistake stays safe


def test_a_failed_payment_becomes_a_decline_keeping_the_vendor_code() -> None:
    payment = Payment(
        id="pay_1",
        provider="acme",
        status=PaymentStatus.FAILED,
        amount=1000,
        currency="EUR",
        failure_code="insufficient_funds",
        failure_message="not enough money",
    )
    error = payment_declined(payment, vendor_code="51", status=402, raw={"id": "pay_1"})
    assert isinstance(error, PaymentDeclined)
    assert (error.decline_code, error.vendor_code, error.status) == (
        "insufficient_funds",
        "51",
        402,
    )
    assert (error.provider, error.retryable, error.failover_safe) == ("acme", False, False)
    assert str(error) == "acme: payment pay_1 declined (insufficient_funds): not enough money"
    odd = payment_declined(
        payment.model_copy(update={"failure_code": "R05", "failure_message": None}),
        vendor_code="R05",
    )
    assert odd.decline_code == "card_declined"
    assert odd.vendor_code == "R05"
    assert DECLINE_CODES["card_declined"] in str(odd)


async def test_a_decline_is_never_retried() -> None:
    async with hub.Hub.from_settings(env="test") as h:
        fake = h.payments.provider
        assert isinstance(fake, FakePaymentsProvider)
        with pytest.raises(PaymentDeclined):
            await h.payments.charge(eur(1000), payment_method="pm_card_chargeDeclined")
        assert fake.faults.calls == ["charge"]


async def test_three_d_secure_needs_the_customer_first(h: hub.Hub, events: list[HubEvent]) -> None:
    payment = await h.payments.charge(eur(1000), payment_method="pm_card_threeDSecureRequired")
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.client_secret
    assert payment.client_secret.startswith(payment.id)
    assert payment.next_action == {"type": "three_d_secure"}
    assert payment.client_secret not in repr(payment)
    assert payment.amount_captured == 0
    assert events == []
    with pytest.raises(InvalidRequest, match="3-D Secure"):
        await h.payments.capture(payment.id)

    done = await ledger(h).complete_action(payment.id)
    assert done.status is PaymentStatus.CAPTURED
    assert done.client_secret is None
    assert [e.type for e in events] == ["payment.succeeded"]


async def test_failed_three_d_secure_declines(h: hub.Hub) -> None:
    payment = await h.payments.charge(
        eur(1000), capture=False, payment_method="pm_card_threeDSecureRequired"
    )
    with pytest.raises(PaymentDeclined) as err:
        await ledger(h).complete_action(payment.id, approve=False)
    assert err.value.decline_code == "authentication_failed"
    assert (await h.payments.get(payment.id)).status is PaymentStatus.FAILED


async def test_a_three_d_secure_payment_can_be_abandoned(h: hub.Hub) -> None:
    payment = await h.payments.charge(eur(1000), payment_method="pm_card_threeDSecureRequired")
    assert (await h.payments.cancel(payment.id)).status is PaymentStatus.CANCELED


# -- features, faults, persistence, concurrency ---------------------------------------------


async def test_features_the_provider_lacks_are_refused_before_charging() -> None:
    base = default_registry()
    spec = dataclasses.replace(base.provider("payments", "fake"), features=frozenset())
    registry = Registry(
        capabilities=dict(base.capabilities),
        providers={**base.providers, ("payments", "fake"): spec},
    )
    async with hub.Hub(HubSettings.load(env="test"), registry=registry) as h:
        with pytest.raises(UnsupportedFeature) as err:
            await h.payments.charge(eur(1000), capture=False)
        assert err.value.feature == "authorize_only"
        payment = await h.payments.charge(eur(1000))
        with pytest.raises(UnsupportedFeature, match="partial_refund"):
            await h.payments.refund(payment.id, eur(100))
        refund = await h.payments.refund(payment.id, eur(1000))
        assert refund.payment.status is PaymentStatus.REFUNDED
        fake = h.payments.provider
        assert isinstance(fake, FakePaymentsProvider)
        assert fake.faults.calls == ["charge", "get", "get", "refund"]


async def test_an_injected_fault_surfaces_and_a_retry_with_the_key_charges_once() -> None:
    async with hub.Hub.from_settings(env="test") as h:
        fake = h.payments.provider
        assert isinstance(fake, FakePaymentsProvider)
        attempts = h.settings.payments.resilience.retry.attempts
        fake.fail_next(attempts)  # more failures than the pipeline retries
        with pytest.raises(hub.HubError) as info:
            await h.payments.charge(eur(1000), idempotency_key="order-9")
        assert isinstance(info.value, hub.Unavailable | hub.OutcomeUnknown)
        payment = await h.payments.charge(eur(1000), idempotency_key="order-9")
        again = await h.payments.charge(eur(1000), idempotency_key="order-9")
        assert again.id == payment.id
        assert len(fake.store.payments) == 1


async def test_the_local_ledger_survives_a_new_hub(tmp_path: Path) -> None:
    async with hub.Hub.from_settings(env="development", data_dir=tmp_path) as first:
        payment = await first.payments.charge(eur(1000), idempotency_key="order-1")
        await first.payments.refund(payment.id, eur(250))
    assert (tmp_path / "payments.sqlite3").is_file()

    async with hub.Hub.from_settings(env="development", data_dir=tmp_path) as second:
        seen = await second.payments.get(payment.id)
        assert (seen.status, seen.amount_refunded) == (PaymentStatus.PARTIALLY_REFUNDED, 250)
        repeated = await second.payments.charge(eur(1000), idempotency_key="order-1")
        assert repeated.id == payment.id
        with pytest.raises(InvalidRequest, match=r"only 7\.50 EUR is refundable"):
            await second.payments.refund(payment.id, eur(800))


async def test_the_local_path_setting_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere" / "ledger.db"
    async with hub.Hub.from_settings(
        env="development", data_dir=tmp_path / "data", payments={"local": {"path": str(path)}}
    ) as h:
        await h.payments.charge(eur(100))
    assert path.is_file()
    assert not (tmp_path / "data" / "payments.sqlite3").exists()


async def test_concurrent_refunds_never_exceed_the_captured_amount(h: hub.Hub) -> None:
    payment = await h.payments.charge(eur(1000))
    refunded: list[int] = []
    refused: list[InvalidRequest] = []

    async def refund() -> None:
        try:
            refunded.append((await h.payments.refund(payment.id, eur(300))).amount)
        except InvalidRequest as exc:
            refused.append(exc)

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(refund)

    assert refunded == [300, 300, 300]
    assert len(refused) == 7
    final: Payment = await h.payments.get(payment.id)
    assert (final.amount_refunded, final.status) == (900, PaymentStatus.PARTIALLY_REFUNDED)
