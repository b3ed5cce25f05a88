"""The Stripe provider: the requests it sends, what it makes of Stripe's answers and errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from hub_stripe.mapping import _DECLINES, payment_from, to_stripe_amount
from hub_stripe.settings import DEFAULT_API_VERSION
from pytest_httpx import HTTPXMock

from hub import (
    AuthenticationError,
    ConfigurationError,
    Hub,
    InvalidRequest,
    Money,
    NotFound,
    OutcomeUnknown,
    PaymentDeclined,
    PaymentStatus,
    RateLimited,
    Unavailable,
)
from hub.capabilities.payments import DECLINE_CODES
from tests.plugins.stripe.stub import SECRET_KEY

API = "https://api.stripe.com"
NO_WAIT = {"wait_initial": 0, "wait_max": 0, "wait_jitter": 0}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def stripe_hub(make_hub: Callable[..., Hub]) -> Callable[..., Hub]:
    """``stripe_hub(attempts=1, **stripe_settings)``: a hub whose payments go to Stripe."""

    def build(attempts: int = 1, env: str = "test", **settings: Any) -> Hub:
        return make_hub(
            env=env,
            payments={
                "providers": ["stripe"],
                "stripe": {"secret_key": SECRET_KEY, **settings},
                "resilience": {"retry": {"attempts": attempts, **NO_WAIT}},
            },
        )

    return build


def intent(**fields: Any) -> dict[str, Any]:
    """A PaymentIntent as Stripe documents it (https://docs.stripe.com/api/payment_intents)."""
    base: dict[str, Any] = {
        "id": "pi_3MtwBwLkdIwHu7ix28a3tqPa",
        "object": "payment_intent",
        "amount": 1999,
        "amount_capturable": 0,
        "amount_received": 0,
        "capture_method": "automatic",
        "client_secret": "pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH",
        "currency": "eur",
        "customer": None,
        "description": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": {},
        "next_action": None,
        "payment_method": "pm_card_visa",
        "status": "requires_payment_method",
    }
    return {**base, **fields}


def charge_object(**fields: Any) -> dict[str, Any]:
    return {
        "id": "ch_3MtwBwLkdIwHu7ix28a3tqPa",
        "object": "charge",
        "amount": 1999,
        "amount_captured": 1999,
        "amount_refunded": 0,
        "currency": "eur",
        **fields,
    }


def form(request: httpx.Request) -> list[tuple[str, str]]:
    return parse_qsl(request.content.decode(), keep_blank_values=True)


# -- requests -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_charge_maps_every_field_onto_one_confirmed_payment_intent(
    stripe_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        method="POST",
        url=f"{API}/v1/payment_intents",
        json=intent(
            status="requires_capture",
            amount_capturable=1999,
            capture_method="manual",
            customer="cus_NffrFeUfNV2Hib",
            description="Order 42",
            metadata={"order": "42"},
            latest_charge=charge_object(amount_captured=0),
        ),
    )
    hub = stripe_hub()
    payment = await hub.payments.charge(
        Money(1999, "EUR"),
        customer="cus_NffrFeUfNV2Hib",
        payment_method="pm_card_visa",
        capture=False,
        description="Order 42",
        metadata={"order": "42"},
        idempotency_key="order-42-charge",
    )
    [request] = httpx_mock.get_requests()
    assert request.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert request.headers["stripe-version"] == DEFAULT_API_VERSION
    assert request.headers["idempotency-key"] == "order-42-charge"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form(request) == [
        ("amount", "1999"),
        ("currency", "eur"),
        ("customer", "cus_NffrFeUfNV2Hib"),
        ("payment_method", "pm_card_visa"),
        ("capture_method", "manual"),
        ("description", "Order 42"),
        ("metadata[order]", "42"),
        ("expand[]", "latest_charge"),
        ("confirm", "true"),
        ("automatic_payment_methods[enabled]", "true"),
        ("automatic_payment_methods[allow_redirects]", "never"),
    ]
    assert payment.status is PaymentStatus.AUTHORIZED
    assert payment.id == payment.provider_id == "pi_3MtwBwLkdIwHu7ix28a3tqPa"
    assert (payment.amount, payment.currency, payment.amount_captured) == (1999, "EUR", 0)
    assert payment.capture_method == "manual"
    assert payment.customer == "cus_NffrFeUfNV2Hib"
    assert payment.metadata == {"order": "42"}
    assert payment.idempotency_key == "order-42-charge"
    assert payment.client_secret is None  # only a payment that needs action carries it


@pytest.mark.anyio
async def test_return_url_and_api_version_come_from_settings(
    stripe_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=intent(status="succeeded", amount_received=1999))
    hub = stripe_hub(return_url="https://shop.example.com/paid", api_version="2024-06-20")
    await hub.payments.charge(Money(1999, "EUR"), payment_method="pm_card_visa")
    [request] = httpx_mock.get_requests()
    assert request.headers["stripe-version"] == "2024-06-20"
    sent = dict(form(request))
    assert sent["return_url"] == "https://shop.example.com/paid"
    assert "automatic_payment_methods[enabled]" not in sent


@pytest.mark.anyio
async def test_charge_without_a_payment_method_is_left_for_the_browser(
    stripe_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=intent(payment_method=None))
    payment = await stripe_hub().payments.charge(Money(1999, "EUR"))
    sent = dict(form(httpx_mock.get_requests()[0]))
    assert "confirm" not in sent
    assert "payment_method" not in sent
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.next_action == {"type": "collect_payment_method"}
    assert payment.client_secret, "the browser confirms it with the client secret"


@pytest.mark.anyio
async def test_capture_cancel_refund_and_get_send_stripes_requests(
    stripe_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    pi = "pi_3MtwBwLkdIwHu7ix28a3tqPa"
    held = intent(status="requires_capture", amount=5000, amount_capturable=5000)
    captured = intent(
        status="succeeded",
        amount=5000,
        amount_received=3000,
        latest_charge=charge_object(amount=5000, amount_captured=3000),
    )
    httpx_mock.add_response(method="GET", json=held)
    httpx_mock.add_response(
        method="POST", url=f"{API}/v1/payment_intents/{pi}/capture", json=captured
    )
    hub = stripe_hub()
    payment = await hub.payments.capture(pi, Money(3000, "EUR"), idempotency_key="cap-1")
    get, capture = httpx_mock.get_requests()
    assert get.url.params.get_list("expand[]") == ["latest_charge"]
    assert capture.headers["idempotency-key"] == "cap-1"
    assert form(capture) == [("expand[]", "latest_charge"), ("amount_to_capture", "3000")]
    assert payment.status is PaymentStatus.CAPTURED
    assert (payment.amount, payment.amount_captured, payment.refundable) == (5000, 3000, 3000)

    refunded = {
        "id": "re_3MtwBwLkdIwHu7ix0jQnQz4S",
        "object": "refund",
        "amount": 1000,
        "currency": "eur",
        "payment_intent": {
            **captured,
            "latest_charge": charge_object(amount=5000, amount_captured=3000, amount_refunded=1000),
        },
        "reason": "requested_by_customer",
        "status": "succeeded",
    }
    httpx_mock.add_response(method="GET", json=captured)
    httpx_mock.add_response(method="POST", url=f"{API}/v1/refunds", json=refunded)
    refund = await hub.payments.refund(
        pi, Money(1000, "EUR"), reason="requested_by_customer", idempotency_key="ref-1"
    )
    request = httpx_mock.get_requests()[-1]
    assert request.headers["idempotency-key"] == "ref-1"
    assert form(request) == [
        ("payment_intent", pi),
        ("amount", "1000"),
        ("reason", "requested_by_customer"),
        ("expand[]", "payment_intent.latest_charge"),
    ]
    assert (refund.id, refund.amount, refund.payment_id) == (
        "re_3MtwBwLkdIwHu7ix0jQnQz4S",
        1000,
        pi,
    )
    assert refund.payment.status is PaymentStatus.PARTIALLY_REFUNDED
    assert refund.payment.amount_refunded == 1000

    httpx_mock.add_response(
        method="POST",
        url=f"{API}/v1/payment_intents/{pi}/cancel",
        json=intent(status="canceled", amount=5000),
    )
    canceled = await hub.payments.cancel(pi, idempotency_key="can-1")
    assert form(httpx_mock.get_requests()[-1]) == [("expand[]", "latest_charge")]
    assert canceled.status is PaymentStatus.CANCELED


@pytest.mark.anyio
async def test_create_customer_posts_the_customer(
    stripe_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        url=f"{API}/v1/customers",
        json={
            "id": "cus_NffrFeUfNV2Hib",
            "object": "customer",
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "metadata": {"plan": "pro"},
        },
    )
    customer = await stripe_hub().payments.create_customer(
        email="ada@example.com", name="Ada Lovelace", metadata={"plan": "pro"}, idempotency_key="c1"
    )
    [request] = httpx_mock.get_requests()
    assert request.headers["idempotency-key"] == "c1"
    assert form(request) == [
        ("email", "ada@example.com"),
        ("name", "Ada Lovelace"),
        ("metadata[plan]", "pro"),
    ]
    assert (customer.id, customer.email, customer.metadata) == (
        "cus_NffrFeUfNV2Hib",
        "ada@example.com",
        {"plan": "pro"},
    )


@pytest.mark.anyio
async def test_a_refund_reason_stripe_cannot_express_is_refused_before_sending(
    stripe_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await stripe_hub().payments.refund("pi_1", reason="changed their mind")
    assert caught.value.field == "reason"
    assert "requested_by_customer" in str(caught.value)
    assert httpx_mock.get_requests() == []


# -- statuses and amounts -------------------------------------------------------------------


CHARGE = charge_object(amount=5000, amount_captured=5000)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"status": "requires_payment_method"}, PaymentStatus.REQUIRES_ACTION),
        (
            {
                "status": "requires_payment_method",
                "last_payment_error": {"code": "card_declined", "decline_code": "lost_card"},
            },
            PaymentStatus.FAILED,
        ),
        ({"status": "requires_confirmation"}, PaymentStatus.REQUIRES_ACTION),
        (
            {"status": "requires_action", "next_action": {"type": "use_stripe_sdk"}},
            PaymentStatus.REQUIRES_ACTION,
        ),
        ({"status": "processing"}, PaymentStatus.AUTHORIZED),
        ({"status": "requires_capture", "amount_capturable": 5000}, PaymentStatus.AUTHORIZED),
        (
            {"status": "succeeded", "amount_received": 5000, "latest_charge": CHARGE},
            PaymentStatus.CAPTURED,
        ),
        (
            {
                "status": "succeeded",
                "amount_received": 5000,
                "latest_charge": {**CHARGE, "amount_refunded": 10},
            },
            PaymentStatus.PARTIALLY_REFUNDED,
        ),
        (
            {
                "status": "succeeded",
                "amount_received": 5000,
                "latest_charge": {**CHARGE, "amount_refunded": 5000},
            },
            PaymentStatus.REFUNDED,
        ),
        ({"status": "canceled"}, PaymentStatus.CANCELED),
    ],
)
def test_payment_intent_statuses_map_onto_the_hub_state_machine(
    fields: dict[str, Any], status: PaymentStatus
) -> None:
    payment = payment_from(intent(amount=5000, **fields), provider="stripe", idempotency_key=None)
    assert payment.status is status
    if status is PaymentStatus.FAILED:
        assert payment.failure_code == "lost_card"
    if status is PaymentStatus.REQUIRES_ACTION:
        assert payment.client_secret
        assert payment.next_action
    else:
        assert payment.client_secret is None
        assert payment.next_action is None


@pytest.mark.parametrize(
    ("money", "sent"),
    [
        (Money(1999, "EUR"), 1999),
        (Money(500, "JPY"), 500),
        (Money(1500, "KWD"), 1500),
        (Money(500, "ISK"), 50000),  # ISK goes to Stripe with two (zero) decimals
        (Money(10000, "MGA"), 100),  # MGA is zero-decimal at Stripe
    ],
)
def test_amounts_follow_stripes_minor_units(money: Money, sent: int) -> None:
    assert to_stripe_amount(money) == sent


def test_an_amount_stripe_cannot_express_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        to_stripe_amount(Money(10050, "MGA"))
    assert caught.value.field == "amount"


# -- errors -------------------------------------------------------------------------------


def card_error(code: str, decline_code: str | None, message: str) -> dict[str, Any]:
    error: dict[str, Any] = {"type": "card_error", "code": code, "message": message}
    if decline_code:
        error["decline_code"] = decline_code
    error["payment_intent"] = intent(
        status="requires_payment_method", last_payment_error=dict(error)
    )
    return {"error": error}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("code", "decline_code", "normalized"),
    [
        ("card_declined", "generic_decline", "card_declined"),
        ("card_declined", "do_not_honor", "card_declined"),
        ("card_declined", "insufficient_funds", "insufficient_funds"),
        ("expired_card", None, "expired_card"),
        ("incorrect_cvc", None, "incorrect_cvc"),
        ("incorrect_number", None, "incorrect_number"),
        ("card_declined", "fraudulent", "fraudulent"),
        ("card_declined", "lost_card", "lost_card"),
        ("card_declined", "stolen_card", "stolen_card"),
        ("processing_error", None, "processing_error"),
        ("card_declined", "card_velocity_exceeded", "limit_exceeded"),
        ("card_declined", "some_future_code", "card_declined"),
    ],
)
async def test_card_errors_are_declines_with_a_normalized_code_and_are_never_retried(
    stripe_hub: Callable[..., Hub],
    httpx_mock: HTTPXMock,
    code: str,
    decline_code: str | None,
    normalized: str,
) -> None:
    httpx_mock.add_response(
        status_code=402, json=card_error(code, decline_code, "Your card was declined.")
    )
    hub = stripe_hub(attempts=3)
    with pytest.raises(PaymentDeclined) as caught:
        await hub.payments.charge(Money(1999, "EUR"), payment_method="pm_card_visa")
    error = caught.value
    assert error.decline_code == normalized
    assert error.vendor_code == (decline_code or code)
    assert error.provider == "stripe"
    assert error.status == 402
    assert (error.retryable, error.failover_safe) == (False, False)
    assert "pi_3MtwBwLkdIwHu7ix28a3tqPa" in str(error)
    assert len(httpx_mock.get_requests()) == 1, "a decline must not be retried"


@pytest.mark.parametrize(
    ("decline_code", "normalized"),
    [("insufficient_funds", "insufficient_funds"), ("do_not_honor", "card_declined")],
)
@pytest.mark.anyio
async def test_a_payment_intent_that_comes_back_failed_is_a_decline_with_stripes_code(
    stripe_hub: Callable[..., Hub], httpx_mock: HTTPXMock, decline_code: str, normalized: str
) -> None:
    failed = {"code": "card_declined", "decline_code": decline_code, "message": "Declined."}
    httpx_mock.add_response(json=intent(last_payment_error=failed))
    with pytest.raises(PaymentDeclined) as caught:
        await stripe_hub().payments.charge(Money(1999, "EUR"), payment_method="pm_card_visa")
    error = caught.value
    assert (error.decline_code, error.vendor_code, error.status) == (normalized, decline_code, 402)
    assert "pi_3MtwBwLkdIwHu7ix28a3tqPa" in str(error)
    assert error.raw["last_payment_error"] == failed


def test_every_stripe_decline_maps_into_the_hubs_vocabulary() -> None:
    assert set(_DECLINES.values()) <= set(DECLINE_CODES)


@pytest.mark.anyio
async def test_invalid_request_error_names_stripes_param(
    stripe_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        status_code=400,
        json={
            "error": {
                "type": "invalid_request_error",
                "code": "parameter_invalid_integer",
                "param": "amount",
                "message": "Invalid integer: 19.99",
            }
        },
    )
    with pytest.raises(InvalidRequest) as caught:
        await stripe_hub(attempts=3).payments.charge(Money(1999, "EUR"), payment_method="pm_x")
    assert caught.value.field == "amount"
    assert caught.value.vendor_code == "parameter_invalid_integer"
    assert "Invalid integer" in str(caught.value)
    assert len(httpx_mock.get_requests()) == 1


@pytest.mark.anyio
async def test_a_reused_idempotency_key_is_the_callers_mistake(
    stripe_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        status_code=400,
        json={
            "error": {
                "type": "idempotency_error",
                "message": "Keys for idempotent requests can only be used with the same "
                "parameters they were first used with.",
            }
        },
    )
    with pytest.raises(InvalidRequest) as caught:
        await stripe_hub().payments.charge(
            Money(1999, "EUR"), payment_method="pm_card_visa", idempotency_key="k"
        )
    assert caught.value.field == "idempotency_key"
    assert "new idempotency key" in str(caught.value)


@pytest.mark.anyio
async def test_a_bad_key_is_an_authentication_error_without_the_key_in_it(
    stripe_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        status_code=401,
        json={
            "error": {
                "type": "invalid_request_error",
                "message": f"Invalid API Key provided: {SECRET_KEY}",
            }
        },
    )
    with pytest.raises(AuthenticationError) as caught:
        await stripe_hub(attempts=3).payments.get("pi_1")
    error = caught.value
    assert error.retryable is False
    assert error.failover_safe is True
    assert SECRET_KEY not in str(error)
    assert SECRET_KEY not in repr(error.raw)
    assert len(httpx_mock.get_requests()) == 1


@pytest.mark.anyio
async def test_a_missing_payment_is_not_found(
    stripe_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        status_code=404,
        json={
            "error": {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "param": "intent",
                "message": "No such payment_intent: 'pi_nope'",
            }
        },
    )
    with pytest.raises(NotFound) as caught:
        await stripe_hub().payments.get("pi_nope")
    assert caught.value.vendor_code == "resource_missing"


@pytest.mark.anyio
async def test_rate_limits_honour_retry_after(
    stripe_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        status_code=429,
        headers={"Retry-After": "2"},
        json={
            "error": {
                "type": "rate_limit_error",
                "code": "rate_limit",
                "message": "Too many requests",
            }
        },
    )
    with pytest.raises(RateLimited) as caught:
        await stripe_hub().payments.get("pi_1")
    assert caught.value.retry_after == 2.0
    assert caught.value.retryable is True
    assert caught.value.failover_safe is True


@pytest.mark.anyio
async def test_a_server_error_is_retried_with_the_same_key_then_outcome_unknown(
    stripe_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        status_code=500,
        json={"error": {"type": "api_error", "message": "An unknown error occurred"}},
        is_reusable=True,
    )
    with pytest.raises(Unavailable):
        await stripe_hub().payments.get("pi_1")
    hub = stripe_hub(attempts=3)
    with pytest.raises(OutcomeUnknown) as caught:
        await hub.payments.charge(
            Money(1999, "EUR"), payment_method="pm_card_visa", idempotency_key="k-500"
        )
    assert caught.value.idempotency_key == "k-500"
    posts = [r for r in httpx_mock.get_requests() if r.method == "POST"]
    assert [r.headers["idempotency-key"] for r in posts] == ["k-500"] * 3


@pytest.mark.anyio
async def test_a_key_still_in_flight_at_stripe_is_retried(
    stripe_hub: Callable[..., Hub], httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        status_code=409,
        json={
            "error": {
                "type": "idempotency_error",
                "code": "idempotency_key_in_use",
                "message": "There is currently another in-progress request using this "
                "Idempotent Key (that probably means you submitted twice, and the other request "
                "is still going through).",
            }
        },
    )
    httpx_mock.add_response(json=intent(status="succeeded", amount_received=1999))
    payment = await stripe_hub(attempts=2).payments.charge(
        Money(1999, "EUR"), payment_method="pm_card_visa", idempotency_key="k-409"
    )
    assert payment.status is PaymentStatus.CAPTURED
    assert [r.headers["idempotency-key"] for r in httpx_mock.get_requests()] == ["k-409"] * 2


# -- settings -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_keys_are_checked_against_the_environment(stripe_hub: Callable[..., Hub]) -> None:
    with pytest.raises(ConfigurationError, match="live key"):
        _ = stripe_hub(env="staging", secret_key="sk_live_" + "x" * 24).payments
    with pytest.raises(ConfigurationError, match="test key"):
        _ = stripe_hub(env="production").payments
    with pytest.raises(ConfigurationError, match="publishable") as caught:
        _ = stripe_hub(secret_key="pk_test_" + "y" * 24).payments
    assert "y" * 24 not in str(caught.value), "the rejected value must not be echoed"


@pytest.mark.anyio
async def test_the_key_comes_from_stripe_secret_key(
    make_hub: Callable[..., Hub], monkeypatch: pytest.MonkeyPatch, httpx_mock: HTTPXMock
) -> None:
    hub = make_hub(payments={"providers": ["stripe"]})
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="STRIPE_SECRET_KEY"):
        _ = hub.payments
    monkeypatch.setenv("STRIPE_SECRET_KEY", SECRET_KEY)
    httpx_mock.add_response(json=intent(status="canceled"))
    await make_hub(payments={"providers": ["stripe"]}).payments.get("pi_1")
    assert httpx_mock.get_requests()[0].headers["authorization"] == f"Bearer {SECRET_KEY}"
